from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

from .testviews import test_api

urlpatterns = [path("api/test/", include(test_api)), *project_urlpatterns]
