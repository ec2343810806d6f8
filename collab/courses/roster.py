"""Reading a roster CSV (name, email or username, group): every row is
checked before anything is written, and each problem names its row."""

import csv
import io
import re
from dataclasses import dataclass

MAX_ROWS = 2000
MAX_BYTES = 512 * 1024
EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
USERNAME = re.compile(r"^[\w.@+-]{1,150}$")
HEADER_WORDS = {"name", "email", "username", "login", "group", "email or username"}


@dataclass(frozen=True)
class RosterRow:
    line: int
    name: str
    login: str  # lower case
    group: str


class RosterErrors(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def parse(text: str) -> list[RosterRow]:
    if "\x00" in text:
        raise RosterErrors(["The file contains a NUL byte: is it really a CSV text file?"])
    if len(text.encode()) > MAX_BYTES:
        raise RosterErrors([f"The roster is larger than {MAX_BYTES // 1024} KB."])
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    errors, parsed, seen = [], [], {}
    for number, cells in enumerate(rows, start=1):
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if number == 1 and {c.lower() for c in cells if c} <= HEADER_WORDS:
            continue
        if len(cells) < 2 or len(cells) > 3:
            errors.append(f"Row {number}: expected name, email or username, group; got {len(cells)} column(s).")
            continue
        name, login = cells[0], cells[1].lower()
        group = cells[2] if len(cells) == 3 else ""
        if not name:
            errors.append(f"Row {number}: the name is empty.")
        if not login:
            errors.append(f"Row {number}: no email or username.")
            continue
        if "@" in login and not EMAIL.match(login):
            errors.append(f"Row {number}: {cells[1]!r} is not a valid email address.")
            continue
        if "@" not in login and not USERNAME.match(login):
            errors.append(f"Row {number}: {cells[1]!r} is not a valid username (letters, digits and @.+-_ only).")
            continue
        if len(group) > 80:
            errors.append(f"Row {number}: the group name is longer than 80 characters.")
            continue
        if login in seen:
            errors.append(f"Row {number}: {login} is already on row {seen[login]}.")
            continue
        seen[login] = number
        parsed.append(RosterRow(number, name[:200], login, group))
    if len(parsed) > MAX_ROWS:
        errors.append(f"The roster has {len(parsed)} rows; at most {MAX_ROWS} are read at once.")
    if not parsed and not errors:
        errors.append("The roster is empty: one row per student, as name, email or username, group.")
    if errors:
        raise RosterErrors(errors)
    return parsed
