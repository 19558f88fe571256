from core.errors import BusinessRefusal, PermissionDenied


# 422, not 400: the text is a well-formed string; what it names is not a place we send to.
class InvalidWebhookUrl(BusinessRefusal):
    code = "invalid_webhook_url"
    default_message = "The URL must be https:// (http:// only where allowed) with a host name or address."


class WebhookTargetRefused(BusinessRefusal):
    code = "webhook_target_refused"
    default_message = ("The URL resolves to a loopback, private, link-local or metadata address (or to none); "
                       "webhooks are never sent there.")


class UnknownEventType(BusinessRefusal):
    code = "unknown_event_type"
    default_message = "enabled_events names an event type nobody declares (see docs/EVENTS.md)."


class EventsNotReadable(PermissionDenied):
    code = "events_not_readable"
    default_message = "The caller may not read some of these event types, so it may not have them sent anywhere."


class ReplayTooLarge(BusinessRefusal):
    code = "replay_too_large"
    default_message = "The range holds more events than one replay sends; replay a shorter range."
