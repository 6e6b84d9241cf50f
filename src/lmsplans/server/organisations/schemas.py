"""What an organisation is created or renamed with, checked."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lmsplans.server.learners.schemas import EMAIL_PATTERN

# Printable text: no control characters (a name is shown in tables, logs and pages).
NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"


class OrganisationName(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)


class NewOrganisation(OrganisationName):
    """An organisation and its first admin. The admin's employee id is their email address
    until an import gives them their own (an import matches them by email)."""

    adminEmail: str = Field(pattern=EMAIL_PATTERN, max_length=320)
    adminName: str | None = Field(default=None, min_length=1, max_length=200, pattern=NAME_PATTERN)
    adminEmployeeId: str | None = Field(default=None, min_length=1, max_length=64)
