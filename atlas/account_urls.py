"""Log-in and log-out for caseworkers and editors (Django's auth views, German templates).

django-axes locks an account after repeated failures (AXES_FAILURE_LIMIT).
"""

from django.contrib.auth import views as auth_views
from django.urls import path

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="atlas/accounts/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
]
