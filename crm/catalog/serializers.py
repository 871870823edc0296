"""What organises contacts, over the API: tags, lines, ring groups, sequences (in and out)."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from ..fields import WorkspacePkField
from ..models import RingGroup, RingGroupMember, Sequence, SequenceStep, Tag
from . import selectors


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "created_at"]
        read_only_fields = fields


class TagCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class RingGroupMemberSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField()

    class Meta:
        model = RingGroupMember
        fields = ["user_id", "is_available"]
        read_only_fields = fields


class RingGroupSerializer(serializers.ModelSerializer):
    members = RingGroupMemberSerializer(many=True)

    class Meta:
        model = RingGroup
        fields = ["id", "name", "members", "created_at"]
        read_only_fields = fields


class RingGroupMemberInSerializer(serializers.Serializer):
    user_id = WorkspacePkField(
        scope=selectors.workspace_users,
        queryset=get_user_model().objects.none(),
        required=True,
        allow_null=False,
        help_text="A user of the workspace",
    )
    is_available = serializers.BooleanField(required=False, default=True)


class RingGroupCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    members = RingGroupMemberInSerializer(many=True, required=False, max_length=200)


class SequenceStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = SequenceStep
        fields = ["position", "delay_minutes", "message"]
        read_only_fields = fields


class SequenceSerializer(serializers.ModelSerializer):
    steps = SequenceStepSerializer(many=True)

    class Meta:
        model = Sequence
        fields = ["id", "name", "is_active", "steps", "created_at"]
        read_only_fields = fields


class SequenceStepInSerializer(serializers.Serializer):
    delay_minutes = serializers.IntegerField(
        min_value=0, max_value=525_600, required=False, default=0, help_text="Wait after the previous step"
    )
    message = serializers.CharField(max_length=1600)


class SequenceCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    is_active = serializers.BooleanField(required=False, default=True)
    steps = SequenceStepInSerializer(many=True, required=False, max_length=50, help_text="In order; numbered 1, 2, …")
