"""Rows as the API's JSON (the shapes of :mod:`timebank.api.schemas`)."""

from timebank.models import Ad, Membership, Role, Transfer


def role_name(membership: Membership) -> str:
    """The role's name: member, organizer, treasurer or coordinator."""
    return Role(membership.role).key


def party_json(account) -> dict:
    return {"membership_id": account.membership_id, "name": account.display_name}


def transfer_json(transfer: Transfer) -> dict:
    """A transfer: amount in subunits beside its currency's code."""
    return {
        "id": transfer.id, "kind": str(transfer.kind.value), "state": str(transfer.state.value),
        "amount": transfer.amount, "currency": transfer.currency.code,
        "description": transfer.description,
        "payer": party_json(transfer.payer_account), "payee": party_json(transfer.payee_account),
        "starter_id": transfer.starter_id, "reverses_id": transfer.reverses_id,
        "cancel_reason": transfer.cancel_reason, "created_at": transfer.created_at,
        "completed_at": transfer.completed_at, "cancelled_at": transfer.cancelled_at,
    }


def member_json(membership: Membership) -> dict:
    return {
        "id": membership.id, "name": membership.user.name, "role": role_name(membership),
        "status": str(membership.status.value), "bio": membership.user.bio or "",
        "joined_at": membership.approved_at or membership.created_at,
    }


def membership_json(membership: Membership) -> dict:
    return {
        "id": membership.id, "role": role_name(membership),
        "status": str(membership.status.value),
        "group": {"slug": membership.group.slug, "name": membership.group.name},
    }


def ad_json(ad: Ad, currencies: dict[int, str]) -> dict:
    """An ad; ``currencies`` maps currency ids to codes (for the price)."""
    price = None
    if ad.price_amount is not None:
        price = {"amount": ad.price_amount, "currency": currencies.get(ad.price_currency_id, ""),
                 "unit": str(ad.price_unit.value)}
    return {
        "id": ad.id, "kind": str(ad.kind.value), "title": ad.title, "body": ad.body or "",
        "category_id": ad.category_id, "tags": list(ad.tags or []),
        "goods_or_service": str(ad.goods_or_service.value), "price": price,
        "status": str(ad.status.value),
        "author": {"membership_id": ad.author_id, "name": ad.author.user.name},
        "expires_at": ad.expires_at, "created_at": ad.created_at,
    }
