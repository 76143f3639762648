from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from videos import views

urlpatterns = [
    path("", views.upload_page, name="upload"),
    # As in the seed: the page POSTs with axios and no CSRF token.
    path("CreateSignature/", csrf_exempt(views.CreateSignatureView.as_view()), name="CreateSignature"),
    path("GetVideoResponse/", csrf_exempt(views.GetVideoResponseView.as_view()), name="GetVideoResponse"),
    path("vod/callback/", views.vod_callback, name="vod-callback"),
]
