# API Gateway HTTP API in front of orderflow-http. Authorization is on by default: the order
# routes take a JWT when jwt_issuer/jwt_audience are set, else AWS_IAM (SigV4); only
# GET /health is anonymous, and it has a throttle of its own. The $default stage (no stage
# prefix in the path: the router matches the raw path) logs every request as JSON.

locals {
  jwt_enabled = var.jwt_issuer != null && var.jwt_issuer != ""

  # Authorization of the order routes.
  http_authorization_type = local.jwt_enabled ? "JWT" : "AWS_IAM"

  # The routes src/ingest/http/route.rs accepts (infra/tests checks they are the same).
  # GET /health is aws_apigatewayv2_route.health, the one anonymous route.
  http_order_routes = ["POST /orders", "GET /orders/{order_id}"]
  http_health_route = "GET /health"

  http_access_log_group = "/aws/apigateway/${var.name_prefix}orderflow-http-access"
}

resource "aws_apigatewayv2_api" "orders" {
  name          = local.function_names["orderflow-http"]
  description   = "orderflow orders over HTTP (orderflow-http)"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_integration" "orderflow_http" {
  api_id                 = aws_apigatewayv2_api.orders.id
  description            = "Every route goes to orderflow-http (payload 2.0)"
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_function.this["orderflow-http"].invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 30000

  lifecycle {
    precondition {
      condition     = var.timeout["orderflow-http"] <= 29
      error_message = "timeout[\"orderflow-http\"] must be below API Gateway's 30 s integration timeout, or callers get 503s for requests the function still completes."
    }
  }
}

resource "aws_apigatewayv2_authorizer" "jwt" {
  count = local.jwt_enabled ? 1 : 0

  api_id           = aws_apigatewayv2_api.orders.id
  name             = "jwt"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = var.jwt_issuer
    audience = var.jwt_audience
  }

  lifecycle {
    precondition {
      condition     = length(var.jwt_audience) > 0
      error_message = "jwt_audience must name at least one audience when jwt_issuer is set."
    }
  }
}

resource "aws_apigatewayv2_route" "orders" {
  for_each = toset(local.http_order_routes)

  api_id             = aws_apigatewayv2_api.orders.id
  route_key          = each.value
  target             = "integrations/${aws_apigatewayv2_integration.orderflow_http.id}"
  authorization_type = local.http_authorization_type
  authorizer_id      = local.jwt_enabled ? aws_apigatewayv2_authorizer.jwt[0].id : null
}

resource "aws_apigatewayv2_route" "health" {
  #checkov:skip=CKV_AWS_309:GET /health is the one deliberately anonymous route (load balancer and uptime probes); it reads no data, calls no AWS service and has its own tight throttle.
  api_id             = aws_apigatewayv2_api.orders.id
  route_key          = local.http_health_route
  target             = "integrations/${aws_apigatewayv2_integration.orderflow_http.id}"
  authorization_type = "NONE"
}

resource "aws_cloudwatch_log_group" "http_access" {
  name              = local.http_access_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.orders.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit  = var.http_throttle_rate_limit
    throttling_burst_limit = var.http_throttle_burst_limit
  }

  route_settings {
    route_key              = local.http_health_route
    throttling_rate_limit  = var.http_health_throttle_rate_limit
    throttling_burst_limit = var.http_health_throttle_burst_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.http_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      path               = "$context.path"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      protocol           = "$context.protocol"
      responseLength     = "$context.responseLength"
      responseLatency    = "$context.responseLatency"
      integrationStatus  = "$context.integrationStatus"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
      errorMessage       = "$context.error.message"
      authorizerError    = "$context.authorizer.error"
      sourceIp           = "$context.identity.sourceIp"
      userAgent          = "$context.identity.userAgent"
      userArn            = "$context.identity.userArn"
      jwtSubject         = "$context.authorizer.claims.sub"
    })
  }

  # route_settings may only name a route that exists.
  depends_on = [aws_apigatewayv2_route.health, aws_apigatewayv2_route.orders]
}

# API Gateway may invoke orderflow-http, and only through this API.
resource "aws_lambda_permission" "http_api" {
  statement_id  = "AllowHttpApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["orderflow-http"].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.orders.execution_arn}/*/*"
}
