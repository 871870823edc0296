"""Native API routes of campaigns: /api/v1/campaigns."""

from rest_framework.routers import SimpleRouter

from .api import CampaignViewSet

router = SimpleRouter(trailing_slash=False, use_regex_path=False)
router.register("campaigns", CampaignViewSet, basename="campaign")

urlpatterns = router.urls
