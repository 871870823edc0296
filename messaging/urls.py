"""Native API routes of messaging: /brains, /knowledge, /lines, /conversations."""

from rest_framework.routers import SimpleRouter

from .brains.api import BrainViewSet, KnowledgeViewSet
from .conversations.api import ConversationViewSet
from .lines.api import LineViewSet

router = SimpleRouter(trailing_slash=False, use_regex_path=False)
router.register("brains", BrainViewSet, basename="brain")
router.register("knowledge", KnowledgeViewSet, basename="knowledge")
router.register("lines", LineViewSet, basename="line")
router.register("conversations", ConversationViewSet, basename="conversation")

urlpatterns = router.urls
