from tests.security.url_map import GET_ENDPOINTS, ROUTES, get_endpoints_of, routes_of


def test_the_parametrized_routes_are_the_apps(app):
    assert ROUTES == routes_of(app)
    assert GET_ENDPOINTS == get_endpoints_of(app)
