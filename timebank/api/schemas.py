"""The API's shapes (marshmallow), from which the OpenAPI 3.1 document is generated.

Amounts are integers in subunits, always beside the currency's code. Inputs refuse unknown
fields (422 naming them); outputs are what the views return.
"""

from marshmallow import RAISE, Schema, fields, validate

from timebank.models import TransferKind, TransferState

TEXT_MAX = 500
BIG = 2**53 - 1  # amounts beyond this are not exact in JSON numbers


class Input(Schema):
    class Meta:
        unknown = RAISE


class Output(Schema):
    pass


# --- problems -----------------------------------------------------------------------------

class FieldProblemSchema(Output):
    field = fields.String(allow_none=True, metadata={"description": "the input at fault"})
    detail = fields.String(required=True)


class ProblemSchema(Output):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    field = fields.String(allow_none=True, metadata={"description": "the input at fault"})
    errors = fields.List(fields.Nested(FieldProblemSchema))


# --- people -------------------------------------------------------------------------------

class PartySchema(Output):
    membership_id = fields.Integer(allow_none=True)
    name = fields.String(required=True)


class GroupBriefSchema(Output):
    slug = fields.String(required=True)
    name = fields.String(required=True)


class MembershipSchema(Output):
    id = fields.Integer(required=True)
    group = fields.Nested(GroupBriefSchema, required=True)
    role = fields.String(required=True)
    status = fields.String(required=True)


class TokenInfoSchema(Output):
    name = fields.String(required=True)
    scopes = fields.List(fields.String(), required=True)
    expires_at = fields.DateTime(allow_none=True, required=True)


class MeSchema(Output):
    user_id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    locale = fields.String(allow_none=True)
    membership = fields.Nested(MembershipSchema, required=True, allow_none=True,
                               metadata={"description": "the token's membership; null on the "
                                                        "apex (an apex token has none)"})
    memberships = fields.List(fields.Nested(MembershipSchema), required=True)
    is_network_admin = fields.Boolean(required=True)
    token = fields.Nested(TokenInfoSchema, required=True)


class MemberSchema(Output):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    status = fields.String(required=True)
    bio = fields.String(required=True)
    joined_at = fields.DateTime(required=True)


class MemberQuerySchema(Input):
    q = fields.String(load_default="", validate=validate.Length(max=200))


# --- ledger -------------------------------------------------------------------------------

class CurrencySchema(Output):
    code = fields.String(required=True)
    name = fields.String(required=True)
    symbol = fields.String(required=True)
    kind = fields.String(required=True)
    subunits_per_unit = fields.Integer(required=True)
    default_min_balance = fields.Integer(allow_none=True, required=True)
    default_max_balance = fields.Integer(allow_none=True, required=True)
    is_active = fields.Boolean(required=True)


class AccountSchema(Output):
    id = fields.Integer(required=True)
    currency = fields.String(required=True, metadata={"description": "the currency's code"})
    balance = fields.Integer(required=True, metadata={"description": "in subunits"})
    pending_in = fields.Integer(required=True)
    pending_out = fields.Integer(required=True)
    min_balance = fields.Integer(allow_none=True, required=True,
                                 metadata={"description": "credit limit in force; null: none"})
    max_balance = fields.Integer(allow_none=True, required=True,
                                 metadata={"description": "ceiling in force; null: none"})
    can_still_spend = fields.Integer(allow_none=True, required=True)
    can_still_earn = fields.Integer(allow_none=True, required=True)


class TransferSchema(Output):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    state = fields.String(required=True)
    amount = fields.Integer(required=True, metadata={"description": "in subunits"})
    currency = fields.String(required=True)
    description = fields.String(required=True)
    payer = fields.Nested(PartySchema, required=True)
    payee = fields.Nested(PartySchema, required=True)
    starter_id = fields.Integer(allow_none=True, required=True)
    reverses_id = fields.Integer(allow_none=True, required=True)
    cancel_reason = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    completed_at = fields.DateTime(allow_none=True, required=True)
    cancelled_at = fields.DateTime(allow_none=True, required=True)


class TransferPageSchema(Output):
    items = fields.List(fields.Nested(TransferSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True,
                                metadata={"description": "pass as cursor for the next page"})


class PageQuerySchema(Input):
    """One page of a list read by key, newest first."""

    cursor = fields.String(validate=validate.Length(max=40),
                           metadata={"description": "the previous page's next_cursor"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class TransferQuerySchema(PageQuerySchema):
    state = fields.String(validate=validate.OneOf([state.value for state in TransferState]))
    kind = fields.String(validate=validate.OneOf([kind.value for kind in TransferKind]))
    currency = fields.String(validate=validate.Length(min=1, max=12))
    counterpart_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class TransferCreateSchema(Input):
    kind = fields.String(required=True, validate=validate.OneOf(["payment", "request"]),
                         metadata={"description": "payment: you pay; request: you ask to be "
                                                  "paid"})
    counterpart_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1),
                                    metadata={"description": "the other member's id"})
    amount = fields.Integer(required=True, validate=validate.Range(min=1, max=BIG),
                            metadata={"description": "in subunits of the currency"})
    currency = fields.String(validate=validate.Length(min=1, max=12),
                             metadata={"description": "code; default: the group's first"})
    description = fields.String(required=True, validate=validate.Length(min=1, max=TEXT_MAX))


class TransferEditSchema(Input):
    amount = fields.Integer(required=True, validate=validate.Range(min=1, max=BIG))
    description = fields.String(required=True, validate=validate.Length(min=1, max=TEXT_MAX))


class ReasonSchema(Input):
    reason = fields.String(load_default="", validate=validate.Length(max=TEXT_MAX))


class ReverseSchema(Input):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=TEXT_MAX))


# --- marketplace --------------------------------------------------------------------------

class PriceSchema(Output):
    amount = fields.Integer(required=True)
    currency = fields.String(required=True)
    unit = fields.String(required=True)


class AdSchema(Output):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    category_id = fields.Integer(allow_none=True, required=True)
    tags = fields.List(fields.String(), required=True)
    goods_or_service = fields.String(required=True)
    price = fields.Nested(PriceSchema, allow_none=True, required=True)
    status = fields.String(required=True)
    author = fields.Nested(PartySchema, required=True)
    expires_at = fields.DateTime(required=True)
    created_at = fields.DateTime(required=True)


class AdPageSchema(Output):
    items = fields.List(fields.Nested(AdSchema), required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    total = fields.Integer(required=True)


class AdQuerySchema(Input):
    q = fields.String(load_default="", validate=validate.Length(max=200))
    kind = fields.String(validate=validate.OneOf(["offer", "want"]))
    category_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class AdWriteSchema(Input):
    kind = fields.String(required=True, validate=validate.OneOf(["offer", "want"]))
    title = fields.String(required=True, validate=validate.Length(min=1, max=120))
    body = fields.String(load_default="", validate=validate.Length(max=10_000))
    category_id = fields.Integer(allow_none=True, load_default=None,
                                 validate=validate.Range(min=1, max=2**31 - 1))
    tags = fields.List(fields.String(validate=validate.Length(max=40)), load_default=list,
                       validate=validate.Length(max=20))
    goods_or_service = fields.String(load_default="service",
                                     validate=validate.OneOf(["goods", "service"]))
    price_amount = fields.Integer(allow_none=True, load_default=None,
                                  validate=validate.Range(min=1, max=BIG))
    price_currency = fields.String(allow_none=True, load_default=None,
                                   validate=validate.Length(min=1, max=12))
    price_unit = fields.String(allow_none=True, load_default=None,
                               validate=validate.OneOf(["one_off", "per_hour", "per_day"]))


class MessageSchema(Output):
    id = fields.Integer(required=True)
    conversation_id = fields.Integer(required=True)
    sender_id = fields.Integer(required=True)
    recipient_id = fields.Integer(required=True)
    ad_id = fields.Integer(allow_none=True, required=True)
    body = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    read_at = fields.DateTime(allow_none=True, required=True)


class MessagePageSchema(Output):
    items = fields.List(fields.Nested(MessageSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True,
                                metadata={"description": "pass as cursor for older messages"})


class ConversationSchema(Output):
    id = fields.Integer(required=True)
    other = fields.Nested(PartySchema, required=True)
    last_message_at = fields.DateTime(required=True)
    unread = fields.Integer(required=True)


class MessageCreateSchema(Input):
    recipient_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    body = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    ad_id = fields.Integer(allow_none=True, load_default=None,
                           validate=validate.Range(min=1, max=2**31 - 1))


# --- volunteering -------------------------------------------------------------------------

class TaskSchema(Output):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    starts_at = fields.DateTime(required=True)
    volunteers_needed = fields.Integer(required=True)
    places_taken = fields.Integer(required=True)
    status = fields.String(required=True)
    my_pledge_id = fields.Integer(allow_none=True, required=True)


class PledgeSchema(Output):
    id = fields.Integer(required=True)
    task_id = fields.Integer(required=True)
    status = fields.String(required=True)


# --- network (apex) -----------------------------------------------------------------------

class GroupRowSchema(Output):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True)
    members = fields.Integer(required=True)
    active_members_30_days = fields.Integer(required=True)
    transfers_30_days = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)


class GroupPageSchema(Output):
    items = fields.List(fields.Nested(GroupRowSchema), required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    total = fields.Integer(required=True)


class GroupQuerySchema(Input):
    q = fields.String(load_default="", validate=validate.Length(max=200))
    status = fields.String(validate=validate.OneOf(["active", "suspended", "archived"]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))


class GroupRequestSchema(Output):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    slug = fields.String(required=True)
    status = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class GroupRequestPageSchema(Output):
    items = fields.List(fields.Nested(GroupRequestSchema), required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    total = fields.Integer(required=True)


class RequestQuerySchema(Input):
    status = fields.String(validate=validate.Length(max=20))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
