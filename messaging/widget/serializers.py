"""Serializers of the widget's save-lead: the transcript, the lead, and the bot_id read first
(its brain decides the workspace the rest is read in)."""

from rest_framework import serializers

from crm.fields import LowerEmailField, PhoneField

from ..models import Message

MAX_MESSAGES = 200
MAX_TRANSCRIPT_BYTES = 256 * 1024  # the transcript's contents together, UTF-8


class TranscriptMessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Message.Role.choices)
    content = serializers.CharField(max_length=20000, allow_blank=True, trim_whitespace=False)


class SaveLeadSerializer(serializers.Serializer):
    bot_id = serializers.CharField(max_length=40, help_text="The brain's public bot id")
    session_id = serializers.CharField(max_length=100, help_text="The widget's session; one conversation each")
    page_url = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=2000)
    session_token = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=100,
        help_text="The session_token answered to the session's first post: it lets a post rewrite the transcript",
    )
    messages = TranscriptMessageSerializer(
        many=True,
        required=False,
        max_length=MAX_MESSAGES,
        help_text=f"The whole transcript so far, in order (at most {MAX_MESSAGES} messages, 256 KB)",
    )
    lead_name = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=200)
    lead_email = LowerEmailField(required=False, allow_blank=True, allow_null=True, max_length=254)
    lead_business = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=200)
    lead_phone = PhoneField(
        required=False, allow_null=True, help_text="Any written form, parsed in the workspace's country"
    )
    # Accepted for the widgets that send it, and ignored: the count is of stored messages.
    message_count = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**31 - 1)

    def validate_messages(self, messages):
        if sum(len(message["content"].encode()) for message in messages) > MAX_TRANSCRIPT_BYTES:
            raise serializers.ValidationError(f"The transcript may hold at most {MAX_TRANSCRIPT_BYTES // 1024} KB.")
        return messages


class BotIdSerializer(serializers.Serializer):
    bot_id = serializers.CharField(max_length=40)
