"""Members in the marketplace: directory search, member pages, favourites, blocks, messages,
and reported messages for coordinators."""

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from timebank.blueprints.marketplace import bp
from timebank.blueprints.marketplace.forms import MessageForm, ReportForm
from timebank.blueprints.marketplace.helpers import active_member_or_404, back
from timebank.blueprints.navigation import page_keys
from timebank.boundary import roll_back_at_end
from timebank.extensions import db
from timebank.marketplace import messaging, search
from timebank.marketplace import service as marketplace
from timebank.marketplace.errors import MarketplaceError, NotParticipant
from timebank.models import Ad, Conversation, Message, MessageReport
from timebank.policy import current_membership, require
from timebank.tenants import is_read_only


@bp.route("/members")
@require("marketplace.view")
def members():
    query = request.args.get("q", "")[:200]
    return render_template(
        "marketplace/members.html",
        query=query,
        members=search.search_members(query=query),
        favourites=marketplace.favourite_member_ids(current_membership()),
    )


@bp.route("/members/<int:membership_id>")
@require("marketplace.view")
def member(membership_id: int):
    member = active_member_or_404(membership_id)
    me = current_membership()
    ads = search.search_ads(author_id=member.id, sort="newest", per_page=50).ads
    return render_template(
        "marketplace/member.html",
        member=member,
        ads=ads,
        is_favourite=member.id in marketplace.favourite_member_ids(me),
        is_blocked=messaging.is_blocked(blocker=me, blocked=member),
    )


@bp.route("/members/<int:membership_id>/favourite", methods=["POST"])
@require("marketplace.view")
def favourite_member(membership_id: int):
    member = active_member_or_404(membership_id)
    starred = marketplace.toggle_favourite_member(membership=current_membership(), member=member)
    flash(_("Added to your favourites.") if starred else _("Removed from your favourites."),
          "info")
    return back(url_for("marketplace.member", membership_id=member.id))


@bp.route("/members/<int:membership_id>/block", methods=["POST"])
@require("marketplace.message")
def block(membership_id: int):
    member = active_member_or_404(membership_id)
    if member.id != current_membership().id:
        messaging.block(blocker=current_membership(), blocked=member)
        flash(_("You will no longer receive messages from %(name)s.", name=member.user.name),
              "info")
    return back(url_for("marketplace.member", membership_id=member.id))


@bp.route("/members/<int:membership_id>/unblock", methods=["POST"])
@require("marketplace.message")
def unblock(membership_id: int):
    member = active_member_or_404(membership_id)
    messaging.unblock(blocker=current_membership(), blocked=member)
    flash(_("%(name)s can message you again.", name=member.user.name), "info")
    return back(url_for("marketplace.member", membership_id=member.id))


@bp.route("/messages")
@require("marketplace.message")
def conversations():
    return render_template(
        "marketplace/conversations.html",
        conversations=messaging.conversations_of(current_membership()),
    )


@bp.route("/messages/new/<int:membership_id>", methods=["GET", "POST"])
@require("marketplace.message")
def new_message(membership_id: int):
    """Write to a member (optionally about ``?ad=<id>``) without seeing their email."""
    recipient = active_member_or_404(membership_id)
    me = current_membership()
    if recipient.id == me.id:
        abort(404)
    ad = None
    ad_id = request.values.get("ad", type=int)
    if ad_id:
        ad = marketplace.ad_for(me, ad_id)
        if ad is None:
            abort(404)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            message = messaging.send_message(
                sender=me, recipient=recipient, body=form.body.data, ad=ad
            )
        except MarketplaceError as error:
            roll_back_at_end()
            form.body.errors = [*form.body.errors, str(error)]
        else:
            flash(_("Message sent to %(name)s.", name=recipient.user.name), "success")
            return redirect(url_for("marketplace.conversation",
                                    conversation_id=message.conversation_id))
    existing = messaging.conversation_between(me, recipient)
    return render_template(
        "marketplace/new_message.html", form=form, recipient=recipient, ad=ad,
        existing=existing,
    )


def _my_conversation_or_404(conversation_id: int) -> Conversation:
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None or not conversation.has_participant(current_membership().id):
        abort(404)
    return conversation


@bp.route("/messages/<int:conversation_id>", methods=["GET", "POST"])
@require("marketplace.message")
def conversation(conversation_id: int):
    conversation = _my_conversation_or_404(conversation_id)
    me = current_membership()
    other = conversation.other(me.id)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            messaging.send_message(sender=me, recipient=other, body=form.body.data)
        except MarketplaceError as error:
            roll_back_at_end()
            form.body.errors = [*form.body.errors, str(error)]
        else:
            return redirect(url_for("marketplace.conversation", conversation_id=conversation.id))
    page = messaging.open_conversation_page(
        conversation=conversation, reader=me, mark_read=not is_read_only(),
        limit=current_app.config["MESSAGES_PER_PAGE"], **page_keys())
    messages = page.rows
    ad_ids = {m.ad_id for m in messages if m.ad_id}
    ads = {a.id: a for a in db.session.scalars(sa.select(Ad).where(Ad.id.in_(ad_ids)))}
    return render_template(
        "marketplace/conversation.html",
        conversation=conversation,
        other=other,
        messages=messages,
        messages_page=page,
        ads=ads,
        form=form,
        report_form=ReportForm(formdata=None),
        is_blocked=messaging.is_blocked(blocker=me, blocked=other),
    )


@bp.route("/messages/report/<int:message_id>", methods=["POST"])
@require("marketplace.message")
def report_message(message_id: int):
    message = db.session.get(Message, message_id)
    me = current_membership()
    if message is None or message.recipient_id != me.id:
        abort(404)
    form = ReportForm()
    if form.validate_on_submit():
        try:
            messaging.report_message(message=message, reporter=me, reason=form.reason.data)
        except NotParticipant:
            abort(404)
        flash(_("Thank you. The coordinators will look at this message."), "info")
    return redirect(url_for("marketplace.conversation", conversation_id=message.conversation_id))


@bp.route("/reports")
@require("marketplace.moderate")
def reports():
    return render_template("marketplace/reports.html", reports=messaging.open_reports())


@bp.route("/reports/<int:report_id>/resolve", methods=["POST"])
@require("marketplace.moderate")
def resolve_report(report_id: int):
    report = db.session.get(MessageReport, report_id)
    if report is None:
        abort(404)
    messaging.resolve_report(report=report, coordinator=current_membership())
    flash(_("Report marked as dealt with."), "success")
    return redirect(url_for("marketplace.reports"))
