"""Serializers of the brains and knowledge API: brains and documents as answered, and what a
create or a change may send."""

from rest_framework import serializers

from ..api_common import StrictSerializer, TextField
from ..models import Brain, KnowledgeDocument


class BrainSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brain
        fields = [
            "id",
            "slug",
            "name",
            "bot_id",
            "system_prompt",
            "model",
            "allowed_origins",
            "booking_url",
            "help_text",
            "is_default",
            "created_at",
        ]
        read_only_fields = fields


def _model_field(name: str, **kwargs):
    field = Brain._meta.get_field(name)
    return TextField(max_length=field.max_length, **kwargs)


class OriginsField(serializers.ListField):
    child = serializers.URLField(max_length=300)

    def __init__(self, **kwargs):
        super().__init__(max_length=50, **kwargs)


class BrainInSerializer(StrictSerializer):
    slug = serializers.SlugField(max_length=80, required=False)
    name = _model_field("name")
    system_prompt = _model_field("system_prompt", required=False, allow_blank=True)
    model = _model_field("model", required=False, allow_blank=True)
    allowed_origins = OriginsField(required=False)
    booking_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    help_text = _model_field("help_text", required=False, allow_blank=True)
    is_default = serializers.BooleanField(required=False)


class BrainPatchSerializer(BrainInSerializer):
    slug = serializers.SlugField(max_length=80, required=False)
    name = _model_field("name", required=False)


class KnowledgeSerializer(serializers.ModelSerializer):
    brain = serializers.CharField(source="brain.slug", read_only=True)

    class Meta:
        model = KnowledgeDocument
        fields = ["id", "brain", "title", "content", "created_at", "updated_at"]
        read_only_fields = fields


class KnowledgeInSerializer(StrictSerializer):
    brain = serializers.SlugField(max_length=80, required=False, help_text="A brain's slug; default brain if left out")
    title = TextField(max_length=200)
    content = TextField(max_length=KnowledgeDocument._meta.get_field("content").max_length)


class KnowledgePatchSerializer(KnowledgeInSerializer):
    title = TextField(max_length=200, required=False)
    content = TextField(max_length=KnowledgeDocument._meta.get_field("content").max_length, required=False)
