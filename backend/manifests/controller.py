from litestar import Controller


class RouteController(Controller):
    path = "/v1/routes"
    tags = ["routes"]
