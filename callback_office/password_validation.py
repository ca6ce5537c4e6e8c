"""Password validators of settings.AUTH_PASSWORD_VALIDATORS beyond Django's own: a password mixes
kinds of characters, so "abcdefghijk" or "zhangsanzhangsan" is refused even when it is long and not
on the common-password list; and the minimum length explains itself in Chinese."""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def character_classes(password: str) -> int:
    """How many of letters, digits and other characters (symbols, spaces, 汉字 …) it uses."""
    has_letter = any(c.isascii() and c.isalpha() for c in password)
    has_digit = any(c.isdigit() for c in password)
    has_other = any(not (c.isascii() and c.isalnum()) for c in password)
    return has_letter + has_digit + has_other


class CharacterClassesValidator:
    def __init__(self, min_classes: int = 2) -> None:
        self.min_classes = min_classes

    def validate(self, password: str, user=None) -> None:
        if character_classes(password) < self.min_classes:
            raise ValidationError(
                _("密码须包含字母、数字、符号中的至少 %(n)d 种。") % {"n": self.min_classes},
                code="password_too_uniform",
            )

    def get_help_text(self) -> str:
        return _("密码须包含字母、数字、符号中的至少 %(n)d 种。") % {"n": self.min_classes}


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's, with a message in the project's catalogue: Django 5.2's zh-hans catalogue has no
    Chinese for its new "too short" wording, so the Chinese page showed it in English."""

    def get_error_message(self) -> str:
        return _("密码太短，至少需要 %(n)d 个字符。") % {"n": self.min_length}

    def get_help_text(self) -> str:
        return _("密码至少需要 %(n)d 个字符。") % {"n": self.min_length}
