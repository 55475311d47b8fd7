"""Typed errors of the marketplace services. ``field`` names the form field to show them on."""

from flask_babel import lazy_gettext as _l

from timebank.user_errors import UserError


class MarketplaceError(UserError):
    """Base class: the operation was refused and nothing was written."""

    message = _l("That is not possible.")


class NotAllowed(MarketplaceError):
    message = _l("Only the author or a coordinator may change this ad.")


class InvalidTitle(MarketplaceError):
    field = "title"
    message = _l("Give the ad a title of at most 120 characters.")


class BodyTooLong(MarketplaceError):
    field = "body"
    message = _l("The description is too long.")


class UnknownCategory(MarketplaceError):
    field = "category"
    message = _l("Choose one of this group's categories.")


class InvalidTags(MarketplaceError):
    field = "tags"
    message = _l("Use at most 10 tags of at most 40 characters each.")


class UnknownCurrency(MarketplaceError):
    field = "price_currency"
    message = _l("Choose one of this group's currencies.")


class InvalidPrice(MarketplaceError):
    field = "price_amount"
    message = _l("Enter a price greater than zero, with its currency and unit, or leave it empty.")


class PhotoTooLarge(MarketplaceError):
    field = "photo"

    def __init__(self, *, max_megabytes: float):
        self.max_megabytes = max_megabytes
        super().__init__()

    def __str__(self) -> str:
        return str(_l("The photo is too large: at most %(size)s MB.", size=self.max_megabytes))


class NotAnImage(MarketplaceError):
    field = "photo"
    message = _l("This file is not a photo. Upload a JPEG, PNG, WebP or GIF image.")


class InvalidCategoryName(MarketplaceError):
    field = "name"
    message = _l("Give the category a name of at most 60 characters.")


class CategoryNameTaken(MarketplaceError):
    field = "name"
    message = _l("This group already has a category with this name.")


class InvalidLifetime(MarketplaceError):
    field = "ad_lifetime_days"
    message = _l("Ads may last from 1 to 730 days.")


class CannotMessageSelf(MarketplaceError):
    field = "body"
    message = _l("You cannot send a message to yourself.")


class RecipientUnavailable(MarketplaceError):
    field = "body"
    message = _l("This member cannot receive messages.")


class SenderBlocked(MarketplaceError):
    field = "body"
    message = _l("This member does not accept messages from you.")


class InvalidMessage(MarketplaceError):
    field = "body"
    message = _l("Write a message of at most 5,000 characters.")


class NotParticipant(MarketplaceError):
    message = _l("This conversation is not yours.")
