"""WhatsApp, through Meta's Cloud API (`cloud_api`) or Twilio (`twilio`).

Both channels share what happens to a message before Rasa sees it (`inbound`), their
settings loader (`settings`), the store of processed message ids and menus (`store`), the
renderer of the bot's messages (`render`) and the words the channel adds itself
(`channel_texts`). `payloads` parses Meta's webhook, `graph_api` talks to Meta.
Registered in credentials.yml as `bot.channels.whatsapp.cloud_api.WhatsAppInput` and
`bot.channels.whatsapp.twilio.TwilioWhatsAppInput`.
"""
