"""The seed's URLs (``CreateSignature/``, ``GetVideoResponse/``) plus the page and the push receiver."""

from django.urls import include, path

urlpatterns = [path("", include("videos.urls"))]
