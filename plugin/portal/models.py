"""Applicant accounts (申请人账号): a subject code and a password, apart from staff sign-in.

The model lives with the rest of identity (`plugin.identity.models`); the portal keeps this name.
"""
from plugin.identity.models import ApplicantAccount

__all__ = ["ApplicantAccount"]
