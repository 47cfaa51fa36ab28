"""Project middleware."""

from django.utils.cache import add_never_cache_headers


class NoStoreForSignedInUsers:
    """`Cache-Control: no-store` (and friends) on every response to a signed-in user.

    Pages of signed-in users show customers' data and carry CSRF tokens: no browser or proxy cache may keep
    them (the back button after logging out, a shared computer). Static files never get here: WhiteNoise
    answers them earlier in the chain, so they stay cacheable.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
