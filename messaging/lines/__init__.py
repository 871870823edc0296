"""Lines over the provider: credentials (encrypted at rest), verification against the
provider account, the default line, and the /api/v1/lines API. crm.Line holds the number;
messaging.LineProvider the rest (crm may not import messaging, and verification needs the
provider boundary)."""
