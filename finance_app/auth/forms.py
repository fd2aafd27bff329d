from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from .service import MAX_PASSWORD, MIN_PASSWORD


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class SignUpForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(min=MIN_PASSWORD, max=MAX_PASSWORD)]
    )


class SignOutForm(FlaskForm):
    """Only a CSRF token: sign-out is a POST so that a link on another site cannot do it."""
