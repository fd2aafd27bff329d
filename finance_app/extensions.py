"""One instance of each Flask extension; `create_app` calls their `init_app`."""
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints, so that Alembic batch mode on SQLite can drop and recreate them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()
cache = Cache()
# Its user and request loaders are the isolation core's (isolation/principal.py).
login_manager = LoginManager()
# Its limits are declared where they apply (auth/limits.py); `create_app` chooses the storage
# (Redis or memory) per app. Redis unreachable: the limits count in this process's memory
# until it is back, and a rate-limit error never fails the request.
limiter = Limiter(get_remote_address, strategy="moving-window", in_memory_fallback_enabled=True,
                  swallow_errors=True)
