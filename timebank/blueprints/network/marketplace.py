"""The network marketplace on the apex (issue 18): ads members published to the network, from
every group that trades with the network; an ad's page; writing to its author across groups;
"Pay for this" on the payer's own group's site; the messages between groups.

Reads across groups only through :mod:`timebank.marketplace.network` (the explicit paths).
``/marketplace`` (no trailing slash) is the apex's; a group's own marketplace is
``/marketplace/`` on its site.
"""

from urllib.parse import urlencode

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import SelectChoice, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from timebank.blueprints.forms import Form
from timebank.blueprints.navigation import page_keys
from timebank.blueprints.network import bp
from timebank.boundary import roll_back_at_end
from timebank.marketplace.errors import MarketplaceError, NotParticipant
from timebank.marketplace.network import listing, messaging
from timebank.marketplace.rendering import render_markdown
from timebank.models import AdKind
from timebank.models.marketplace import MESSAGE_MAX
from timebank.policy import apex_only
from timebank.tenants.urls import group_url


class NetworkMessageForm(Form):
    sender = SelectField(_l("Write as a member of"), coerce=int, validate_choice=False)
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=MESSAGE_MAX)],
                         render_kw={"rows": 4})
    submit = SubmitField(_l("Send"))


class ReplyForm(Form):
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=MESSAGE_MAX)],
                         render_kw={"rows": 4})
    submit = SubmitField(_l("Send"))


def _user():
    return current_user if current_user.is_authenticated else None


def _kind_arg():
    try:
        return AdKind(request.args.get("kind", "")) if request.args.get("kind") else None
    except ValueError:
        return None


@bp.route("/marketplace")
@apex_only
def marketplace():
    """Network ads, searched and filtered (see :mod:`timebank.marketplace.network.listing`)."""
    filters = {
        "q": request.args.get("q", "")[:200],
        "kind": _kind_arg(),
        "group": request.args.get("group", type=int),
        "place": request.args.get("place", "")[:120],
        "category": request.args.get("category", "")[:60],
        "payable": request.args.get("payable") == "1" and _user() is not None,
    }
    result = listing.search_network_ads(
        query=filters["q"], kind=filters["kind"], group_id=filters["group"],
        place=filters["place"], category=filters["category"],
        payable_by=_user() if filters["payable"] else None,
        page=request.args.get("page", 1, type=int),
    )
    return render_template(
        "network/marketplace.html", result=result, filters=filters,
        choices=listing.filter_choices(),
        unread=messaging.unread_count(current_user) if _user() else 0,
    )


def pay_links(ad, group) -> list[tuple[str, str]]:
    """``[(payer group name, URL)]``: "Pay for this" on each of the viewer's groups that trade
    with the ad's group, on that group's site (``/trading/pay``, prefilled; ``amount`` is the
    price in subunits of the payer group's first currency, which that page pays in)."""
    if not ad.is_offer:
        return []
    links = []
    for _membership, payer_group in listing.payer_groups(_user(), group.id):
        query = {"group": group.slug, "member": ad.author_id}
        amount = listing.price_in_payer_currency(ad, payer_group.id)
        if amount is not None:
            query["amount"] = amount
        query |= {"description": ad.title, "ad": ad.id}
        links.append((payer_group.name,
                      group_url(payer_group.slug, "/trading/pay?" + urlencode(query))))
    return links


def _ad_or_404(ad_id: int):
    found = listing.network_ad(ad_id)
    if found is None:
        abort(404)
    return found


def _message_form(group_id: int, **kwargs) -> tuple[NetworkMessageForm, dict]:
    form = NetworkMessageForm(**kwargs)
    senders = {membership.id: group for membership, group in messaging.sender_memberships(
        current_user) if group.id != group_id} if _user() else {}
    form.sender.choices = [SelectChoice(membership_id, group.name)
                           for membership_id, group in senders.items()]
    return form, senders


@bp.route("/marketplace/network/ads/<int:ad_id>")
@apex_only
def marketplace_ad(ad_id: int):
    ad, group = _ad_or_404(ad_id)
    form, senders = _message_form(group.id, formdata=None)
    own = [m for m, g in listing.viewer_groups(_user()) if g.id == group.id]
    return render_template(
        "network/marketplace_ad.html", ad=ad, group=group, body=render_markdown(ad.body),
        form=form, can_write=bool(senders), pay_links=pay_links(ad, group),
        own_group_url=group_url(group.slug, f"/marketplace/ads/{ad.id}") if own else None,
        is_author=any(m.id == ad.author_id for m in own),
    )


@bp.route("/marketplace/network/ads/<int:ad_id>/write", methods=["POST"])
@apex_only
@login_required
def marketplace_write(ad_id: int):
    """Write to the author of a network ad, as one of the writer's trading memberships."""
    ad, group = _ad_or_404(ad_id)
    form, senders = _message_form(group.id)
    if form.validate_on_submit():
        from timebank.extensions import db
        from timebank.models import Membership
        from timebank.tenants import all_groups

        if form.sender.data not in senders:
            abort(404)
        with all_groups():  # the writer's own membership, chosen among theirs just above
            sender = db.session.get(Membership, form.sender.data)
        try:
            message = messaging.write_about_ad(sender=sender, ad=ad, body=form.body.data)
        except MarketplaceError as error:
            roll_back_at_end()
            form.body.errors = [*form.body.errors, str(error)]
        else:
            flash(_("Message sent to %(name)s.", name=ad.author.user.name), "success")
            return redirect(url_for("network.marketplace_conversation",
                                    conversation_id=message.conversation_id))
    return render_template(
        "network/marketplace_ad.html", ad=ad, group=group, body=render_markdown(ad.body),
        form=form, can_write=bool(senders), pay_links=pay_links(ad, group),
        own_group_url=None, is_author=False,
    ), 400


@bp.route("/marketplace/network/messages")
@apex_only
@login_required
def marketplace_messages():
    return render_template("network/marketplace_messages.html",
                           conversations=messaging.conversations_of(current_user))


@bp.route("/marketplace/network/messages/<int:conversation_id>", methods=["GET", "POST"])
@apex_only
@login_required
def marketplace_conversation(conversation_id: int):
    form = ReplyForm()
    try:
        if form.validate_on_submit():
            try:
                messaging.reply(user=current_user, conversation_id=conversation_id,
                                body=form.body.data)
            except NotParticipant:
                raise
            except MarketplaceError as error:
                roll_back_at_end()
                form.body.errors = [*form.body.errors, str(error)]
            else:
                return redirect(url_for("network.marketplace_conversation",
                                        conversation_id=conversation_id))
        conversation, me, other, page = messaging.open_conversation(
            user=current_user, conversation_id=conversation_id,
            limit=current_app.config["MESSAGES_PER_PAGE"], **page_keys())
    except NotParticipant:
        abort(404)
    return render_template("network/marketplace_conversation.html", me=me, other=other,
                           messages_page=page, form=form, conversation=conversation)
