"""Notifications to customers: a durable outbox delivered by chat (Zalo, WeChat), e-mail (SMTP)
and SMS, with retries; bill, payment and outage notices queued once per subscription."""
