"""Issue #16, items 6–7: password guessing is bounded on every sign-in path, the client address
comes from trusted proxies only, and API tokens expire, are per device and can be revoked."""

from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.utils import timezone

from backend.middleware import client_ip
from people import tokens
from people.models import ApiToken, Role
from tests.factories import make_admin_user, make_user

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-password-for-tests-7"


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()  # the token endpoint's throttle counts in the cache: neither inherit nor leave counts
    yield
    cache.clear()


def _person(username: str = "guessme", **extra):
    user = make_user(role=Role.OFFICER, username=username, **extra)
    user.set_password(PASSWORD)
    user.save()
    return user


def _token(client: Client, username: str, password: str, *, device: str = "phone", **headers):
    return client.post(
        "/api/auth/token",
        {"username": username, "password": password, "device": device},
        content_type="application/json",
        **headers,
    )


# --- 6. the client address and the lockout -----------------------------------------------------


def test_the_client_address_comes_from_trusted_proxies_only(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"
    )
    settings.TRUSTED_PROXIES = 0
    assert (
        client_ip(request) == "10.0.0.1"
    )  # no proxy trusted: the header is the client's own claim
    settings.TRUSTED_PROXIES = 1
    assert client_ip(request) == "203.0.113.9"  # what our proxy appended
    settings.TRUSTED_PROXIES = 2
    assert client_ip(request) == "6.6.6.6"
    settings.TRUSTED_PROXIES = 5
    assert client_ip(request) == "6.6.6.6"  # never beyond the header's first entry


def test_a_new_x_forwarded_for_per_guess_does_not_defeat_the_token_lockout(settings):
    _person()
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _token(client, "guessme", f"wrong-{n}", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        assert response.status_code == 400, response.content
    assert (
        _token(client, "guessme", "wrong", HTTP_X_FORWARDED_FOR="198.51.100.99").status_code == 429
    )
    response = _token(client, "guessme", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.250")
    assert response.status_code == 429 and response.json()["code"] == "locked_out"
    assert int(response["Retry-After"]) > 0
    assert not ApiToken.objects.exists()


def test_an_account_is_locked_whatever_address_the_guesses_come_from(settings):
    """Behind one trusted proxy each guess comes from a different real address: the account still locks."""
    settings.TRUSTED_PROXIES = 1
    _person()
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert (
            _token(client, "guessme", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
            == 400
        )
    assert (
        _token(client, "guessme", "wrong", HTTP_X_FORWARDED_FOR="198.51.100.99").status_code == 429
    )
    assert _token(client, "guessme", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.77").status_code == 429
    _person("bystander")  # another account from a fresh address is not affected
    assert (
        _token(client, "bystander", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.78").status_code == 200
    )


def test_an_address_is_locked_whatever_accounts_it_tries(settings):
    _person("victim")
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        assert _token(client, f"nobody-{n}", "wrong").status_code in (400, 429)
    assert _token(client, "victim", PASSWORD).status_code == 429


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_the_login_forms_lock_out_too(settings, path):
    admin = make_admin_user(username="boss", password=PASSWORD)
    client = Client()
    for _n in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(path, {"username": admin.username, "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    assert client.post(path, {"username": admin.username, "password": "wrong"}).status_code == 429
    response = client.post(path, {"username": admin.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_ends_after_the_cool_off(settings):
    _person()
    client = Client()
    for _n in range(settings.AXES_FAILURE_LIMIT):
        _token(client, "guessme", "wrong")
    assert _token(client, "guessme", PASSWORD).status_code == 429
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - dt.timedelta(seconds=1)
    )
    assert _token(client, "guessme", PASSWORD).status_code == 200


# --- 7. tokens: expiry, one per device, revocation ---------------------------------------------


def _me(key: str) -> int:
    return Client().get("/api/me", HTTP_AUTHORIZATION=f"Token {key}").status_code


def test_a_token_expires(settings):
    user = _person()
    key, token = tokens.issue(user, device="phone")
    assert _me(key) == 200
    assert token.expires_at - token.created_at == dt.timedelta(hours=settings.API_TOKEN_TTL_HOURS)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert _me(key) in (401, 403)


def test_one_token_per_device_and_a_new_sign_in_gets_a_new_token():
    _person()
    client = Client()
    first = _token(client, "guessme", PASSWORD, device="phone").json()["token"]
    second = _token(client, "guessme", PASSWORD, device="phone").json()["token"]
    tablet = _token(client, "guessme", PASSWORD, device="tablet").json()
    assert first != second
    assert _me(first) in (401, 403) and _me(second) == 200 and _me(tablet["token"]) == 200
    assert tablet["expires"] and tablet["device"] == "tablet"
    assert ApiToken.objects.count() == 2
    assert (
        len(ApiToken.objects.first().digest) == 64
        and not ApiToken.objects.filter(digest=second).exists()
    )


def test_renewal_gives_a_new_key_and_ends_the_old_one():
    user = _person()
    key, token = tokens.issue(user, device="phone")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + dt.timedelta(hours=1))
    answer = Client().post("/api/auth/token/renew", HTTP_AUTHORIZATION=f"Token {key}")
    assert answer.status_code == 200, answer.content
    renewed = answer.json()
    assert renewed["token"] != key and _me(key) in (401, 403) and _me(renewed["token"]) == 200
    assert ApiToken.objects.get().expires_at > timezone.now() + dt.timedelta(hours=2)


def test_logout_revokes_the_token():
    user = _person()
    key, _token_row = tokens.issue(user, device="phone")
    other, _ = tokens.issue(user, device="tablet")
    assert Client().post("/api/auth/logout", HTTP_AUTHORIZATION=f"Token {key}").status_code == 204
    assert _me(key) in (401, 403) and _me(other) == 200


def test_a_person_revokes_their_own_tokens_and_an_administrator_anyones():
    user, stranger = _person(), _person("stranger")
    key, token = tokens.issue(user, device="phone")
    _other_key, other_token = tokens.issue(stranger, device="phone")
    mine = Client()
    mine.force_login(user)
    assert [t["device"] for t in mine.get("/api/auth/tokens").json()["results"]] == ["phone"]
    assert mine.delete(f"/api/auth/tokens/{other_token.pk}").status_code == 404
    assert mine.delete(f"/api/auth/tokens/{token.pk}").status_code == 204
    assert _me(key) in (401, 403)
    admin = Client()
    admin.force_login(make_admin_user(username="root"))
    assert admin.delete(f"/api/auth/tokens/{other_token.pk}").status_code == 204
    assert not ApiToken.objects.exists()


def test_an_expired_token_opens_no_socket():
    from backend.asgi import application

    user = _person()
    key, token = tokens.issue(user, device="phone")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    async def attempt():
        communicator = WebsocketCommunicator(
            application, f"/ws/alerts/?token={key}", headers=[(b"origin", b"http://testserver")]
        )
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    assert async_to_sync(attempt)() == (False, 4401)


def test_a_session_in_use_is_renewed_before_it_expires(settings):
    user = _person()
    client = Client()
    assert client.login(username="guessme", password=PASSWORD)
    assert client.get("/api/me").status_code == 200
    first = client.session["_renewed_at"]
    assert (
        client.get("/api/me").cookies.get(settings.SESSION_COOKIE_NAME) is None
    )  # no write on every request
    session = client.session
    session["_renewed_at"] = first - settings.SESSION_RENEW_AFTER
    session.save()
    response = client.get("/api/me")
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.SESSION_COOKIE_AGE
    assert client.session["_renewed_at"] >= first
    assert user.pk
