"""Patient channels: WhatsApp Cloud API (`whatsapp`) and Twilio's WhatsApp (`twilio`)."""
