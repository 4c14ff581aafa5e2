"""Operator passwords: at least 12 characters and not common or easily guessed.

"Common" is judged by zxcvbn (Dropbox's estimator, here its Python port): it knows the lists
of leaked passwords, words, names, keyboard patterns, repeats and dates, and estimates how many
guesses a password takes. Anything below score 3 ("safely unguessable: moderate protection from
offline attacks") is refused, e.g. `password1234`, `qwertyuiop12`, `iloveyou2026`, or the user
name with digits.
"""

from __future__ import annotations

from ..errors import ValidationFailed

MIN_LENGTH = 12
MAX_LENGTH = 256  # scrypt and zxcvbn stay cheap
MIN_SCORE = 3
_ESTIMATE_CHARS = 100  # zxcvbn's cost grows with length; the first 100 characters decide


def check_password(password: str, *, username: str | None = None) -> None:
    """Raise ValidationFailed (finding PASSWORD_WEAK) unless the password may be used."""
    if len(password) < MIN_LENGTH:
        _refuse(
            f"Mật khẩu phải dài ít nhất {MIN_LENGTH} ký tự (đang có {len(password)}).",
            f"The password must be at least {MIN_LENGTH} characters long (it has {len(password)}).",
        )
    if len(password) > MAX_LENGTH:
        _refuse(
            f"Mật khẩu chỉ được dài tối đa {MAX_LENGTH} ký tự.",
            f"The password must be at most {MAX_LENGTH} characters long.",
        )
    from zxcvbn import zxcvbn  # its word lists load on first use, not at import of the app

    hints = [h for h in (username, "gateway", "truc", "lienthong", "vanban") if h]
    if zxcvbn(password[:_ESTIMATE_CHARS], user_inputs=hints)["score"] < MIN_SCORE:
        _refuse(
            "Mật khẩu quá phổ biến hoặc dễ đoán (có trong danh sách mật khẩu bị lộ, là từ, tên, "
            "dãy phím, lặp lại hoặc chứa tên đăng nhập); hãy dùng một cụm từ dài hơn.",
            "The password is common or easily guessed (a leaked password, a word, a name, a "
            "keyboard pattern, a repeat, or the user name); use a longer phrase.",
        )


def _refuse(vi: str, en: str) -> None:
    finding = {
        "code": "PASSWORD_WEAK",
        "severity": "error",
        "message": vi,
        "path": "password",
        "line": None,
    }
    raise ValidationFailed(vi, en=en, findings=[finding])
