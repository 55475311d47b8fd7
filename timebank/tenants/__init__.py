"""Tenancy: which group a request, job or CLI command is for, and automatic query scoping."""

from timebank.tenants.context import all_groups, current_group_id, group_context
from timebank.tenants.resolve import is_read_only, register_tenancy, slug_from_host
from timebank.tenants.scoping import TenantError

__all__ = [
    "TenantError",
    "all_groups",
    "current_group_id",
    "group_context",
    "is_read_only",
    "register_tenancy",
    "slug_from_host",
]
