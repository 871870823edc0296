"""Native API routes of campaigns: /api/v1/campaigns."""

from rest_framework.routers import SimpleRouter

from .api import CampaignViewSet

router = SimpleRouter()
# Every path answers with and without its trailing slash (SPEC §4).
router.trailing_slash = "/?"
router.register("campaigns", CampaignViewSet, basename="campaign")

urlpatterns = router.urls
