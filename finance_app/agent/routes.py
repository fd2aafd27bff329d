"""Assistant tools: GET /api/agent/tools lists them, POST /api/agent/tools/<name> runs one."""
from typing import Any, Literal, Union

from flask import Blueprint, jsonify
from pydantic import BaseModel

from ..api import parse_body
from ..errors import AppError
from ..isolation import DATA, PUBLIC, access
from ..openapi import documented
from .tools import TOOLS

api_bp = Blueprint("agent_api", __name__, url_prefix="/api/agent")


class ToolInfo(BaseModel):
    name: str
    description: str
    parameters: dict[str, Any]


class ToolResult(BaseModel):
    tool: str
    result: Any


@api_bp.get("/tools")
@access(PUBLIC)  # a catalogue: it holds no data
@documented(response=list[ToolInfo])
def api_tools():
    """The tools an assistant can call, each with a JSON Schema of its arguments."""
    return jsonify([tool.describe() for tool in TOOLS.values()])


@api_bp.post("/tools/<name>")
@access(DATA)
@documented(body=Union[tuple(tool.arguments for tool in TOOLS.values())], response=ToolResult,
            path={"name": Literal[tuple(TOOLS)]})
def api_run_tool(name):
    """Run one tool with a JSON object of its arguments.

    The arguments are validated by the tool's schema (see GET /api/agent/tools): a wrong type
    or an unknown field is a 422 naming the field.
    """
    tool = TOOLS.get(name)
    if tool is None:
        raise AppError(404, "unknown_tool", f"No tool named {name!r}; see GET /api/agent/tools.",
                       tools=sorted(TOOLS))
    return jsonify(tool=name, result=tool.run(parse_body(tool.arguments)))
