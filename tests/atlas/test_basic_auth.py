import base64

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("credentials", ["a\x00b:secret", "admin:pass\x00word"])
def test_basic_auth_with_nul_characters_is_refused_not_500(client, credentials):
    token = base64.b64encode(credentials.encode()).decode()
    response = client.get(
        "/api/v1/services/", HTTP_AUTHORIZATION=f"Basic {token}", HTTP_ACCEPT_LANGUAGE="de"
    )
    # DRF answers 403 because session authentication comes first; never a 500.
    assert response.status_code == 403
    assert response.json()["detail"] == "Ungültiger Benutzername/Passwort."
