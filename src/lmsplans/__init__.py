"""lmsplans: a self-hosted learning-plan progress service that speaks the Zoho People LMS API."""

__version__ = "0.1.0"
