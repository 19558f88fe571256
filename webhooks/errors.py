from core.errors import BusinessRefusal, DomainError, PermissionDenied


class InvalidWebhookUrl(DomainError):
    code = "invalid_webhook_url"
    status = 400
    default_message = "The URL must be https:// (http:// only where allowed) with a host name or address."


class WebhookTargetRefused(BusinessRefusal):
    code = "webhook_target_refused"
    default_message = ("The URL resolves to a loopback, private, link-local or metadata address (or to none); "
                       "webhooks are never sent there.")


class UnknownEventType(DomainError):
    code = "unknown_event_type"
    status = 400
    default_message = "enabled_events names an event type nobody declares (see docs/EVENTS.md)."


class EventsNotReadable(PermissionDenied):
    code = "events_not_readable"
    default_message = "The caller may not read some of these event types, so it may not have them sent anywhere."


class ReplayTooLarge(BusinessRefusal):
    code = "replay_too_large"
    default_message = "The range holds more events than one replay sends; replay a shorter range."
