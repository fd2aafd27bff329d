from tests.security.url_map import ROUTES, routes_of


def test_the_parametrized_routes_are_the_apps(app):
    assert ROUTES == routes_of(app)
