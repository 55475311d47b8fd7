"""Offers and wants, and private messages, over the API: the marketplace services and the
pages' rules (who sees an ad: :func:`timebank.marketplace.service.ad_for`)."""

import sqlalchemy as sa
from flask import g, url_for

from timebank.api import schemas
from timebank.api.core import ApiBlueprint, cursor_key, fail, refuse
from timebank.api.idempotency import idempotent
from timebank.api.ledger import IDEMPOTENCY_PARAMETER
from timebank.api.serialize import ad_json
from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.marketplace import messaging, search
from timebank.marketplace import service as marketplace
from timebank.marketplace.errors import MarketplaceError
from timebank.models import Ad, AdKind, Conversation, Currency, Membership
from timebank.tenants import is_read_only

blp = ApiBlueprint("marketplace_api", __name__, url_prefix="/api/v1",
                   description="Offers and wants; private messages")


def _codes() -> dict[int, str]:
    return dict(db.session.execute(sa.select(Currency.id, Currency.code)).all())


def _ad_fields(data: dict) -> dict:
    currency_id = None
    if data.get("price_currency"):
        currency = ledger.currency_by_code(data["price_currency"])
        if currency is None:
            fail(422, "No currency has this code in this group.", field="price_currency")
        currency_id = currency.id
    return {
        "kind": AdKind(data["kind"]), "title": data["title"], "body": data.get("body", ""),
        "category_id": data.get("category_id"), "tags": data.get("tags") or [],
        "goods_or_service": data.get("goods_or_service", "service"),
        "price_amount": data.get("price_amount"), "price_currency_id": currency_id,
        "price_unit": data.get("price_unit"),
    }


AD_FIELDS = {"price_currency_id": "price_currency"}


def _ad_or_404(ad_id: int) -> Ad:
    ad = marketplace.ad_for(g.membership, ad_id)
    if ad is None:
        fail(404)
    return ad


@blp.route("/ads", methods=["GET"])
@blp.operation("marketplace.view")
@blp.arguments(schemas.AdQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.AdPageSchema)
def list_ads(q: str = "", kind=None, category_id=None, page: int = 1, per_page: int = 20):
    """Visible offers and wants; ``q`` searches (typo-tolerant where the database allows)."""
    result = search.search_ads(query=q, kind=AdKind(kind) if kind else None,
                               category_id=category_id, page=page, per_page=per_page)
    codes = _codes()
    return {"items": [ad_json(ad, codes) for ad in result.ads], "page": result.page,
            "pages": result.pages, "total": result.total}


@blp.route("/ads", methods=["POST"])
@blp.operation("marketplace.post", scope="write")
@idempotent
@blp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@blp.arguments(schemas.AdWriteSchema)
@blp.response(201, schemas.AdSchema)
def create_ad(data: dict):
    """Post an offer or a want (price in subunits of ``price_currency``)."""
    try:
        ad = marketplace.create_ad(author=g.membership, **_ad_fields(data))
    except MarketplaceError as error:
        refuse(error, fields=AD_FIELDS)
    return ad_json(ad, _codes()), 201, {"Location": url_for("marketplace_api.get_ad",
                                                            ad_id=ad.id)}


@blp.route("/ads/<int(max=2147483647):ad_id>", methods=["GET"])
@blp.operation("marketplace.view")
@blp.response(200, schemas.AdSchema)
def get_ad(ad_id: int):
    """One ad you may see."""
    return ad_json(_ad_or_404(ad_id), _codes())


@blp.route("/ads/<int(max=2147483647):ad_id>", methods=["PUT"])
@blp.operation("marketplace.post", scope="write")
@blp.arguments(schemas.AdWriteSchema)
@blp.response(200, schemas.AdSchema)
def edit_ad(data: dict, ad_id: int):
    """Replace an ad's content (its author or a coordinator)."""
    ad = _ad_or_404(ad_id)
    try:
        ad, _replaced = marketplace.update_ad(ad=ad, editor=g.membership, **_ad_fields(data))
    except MarketplaceError as error:
        refuse(error, fields=AD_FIELDS)
    return ad_json(ad, _codes())


@blp.route("/ads/<int(max=2147483647):ad_id>/close", methods=["POST"])
@blp.operation("marketplace.post", scope="write")
@blp.response(200, schemas.AdSchema)
def close_ad(ad_id: int):
    """Hide an ad from others until it is renewed (the page's "pause")."""
    ad = _ad_or_404(ad_id)
    try:
        ad = marketplace.pause_ad(ad=ad, editor=g.membership)
    except MarketplaceError as error:
        refuse(error)
    return ad_json(ad, _codes())


@blp.route("/conversations", methods=["GET"])
@blp.operation("marketplace.message")
@blp.response(200, schemas.ConversationSchema(many=True))
def conversations():
    """Your conversations, most recent first, with unread counts."""
    return [{"id": s.conversation.id,
             "other": {"membership_id": s.other.id, "name": s.other.user.name},
             "last_message_at": s.conversation.last_message_at, "unread": s.unread}
            for s in messaging.conversations_of(g.membership)]


def _message_json(message) -> dict:
    return {"id": message.id, "conversation_id": message.conversation_id,
            "sender_id": message.sender_id, "recipient_id": message.recipient_id,
            "ad_id": message.ad_id, "body": message.body, "created_at": message.created_at,
            "read_at": message.read_at}


@blp.route("/conversations/<int(max=2147483647):conversation_id>/messages", methods=["GET"])
@blp.operation("marketplace.message")
@blp.arguments(schemas.PageQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.MessagePageSchema)
def conversation_messages(conversation_id: int, limit: int = 50, cursor: str | None = None):
    """One page of one of your conversations, newest first; ``next_cursor`` leads to older
    messages. Marks every message to you read."""
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None or not conversation.has_participant(g.membership.id):
        fail(404)
    page = messaging.open_conversation_page(
        conversation=conversation, reader=g.membership, mark_read=not is_read_only(),
        limit=limit, before=cursor_key(cursor))
    return {"items": [_message_json(m) for m in reversed(page.rows)],
            "next_cursor": str(page.before) if page.before is not None else None}


@blp.route("/messages", methods=["POST"])
@blp.operation("marketplace.message", scope="write")
@idempotent
@blp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@blp.arguments(schemas.MessageCreateSchema)
@blp.response(201, schemas.MessageSchema)
def send_message(data: dict):
    """Write to a member without seeing their email (optionally about an ad)."""
    recipient = db.session.get(Membership, data["recipient_id"])
    if recipient is None or not recipient.is_active:
        fail(422, "No active member of this group has this id.", field="recipient_id")
    ad = None
    if data.get("ad_id"):
        ad = marketplace.ad_for(g.membership, data["ad_id"])
        if ad is None:
            fail(422, "No ad you may see has this id.", field="ad_id")
    try:
        message = messaging.send_message(sender=g.membership, recipient=recipient,
                                         body=data["body"], ad=ad)
    except MarketplaceError as error:
        refuse(error, fields={"body": "body", "recipient": "recipient_id"})
    return _message_json(message), 201
