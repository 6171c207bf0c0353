//! The routes of `orderflow-http`, read from the raw (still percent-encoded) path exactly as the
//! client sent it: no normalisation, so `..` and `%2F` can never reach another resource.

use http::Method;

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    PostOrder,
    /// `GET /orders/{order_id}`, the id segment still percent-encoded.
    GetOrder(String),
    Health,
    /// A known resource, another method: the methods it allows.
    WrongMethod(&'static str),
    NotFound,
}

/// Routes a request by method and raw path (the query string is not part of `path`).
pub(crate) fn route(method: &Method, path: &str) -> Route {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    match segments.as_slice() {
        ["health"] => only(method, &Method::GET, "GET", Route::Health),
        ["orders"] => only(method, &Method::POST, "POST", Route::PostOrder),
        ["orders", id] if !id.is_empty() => only(method, &Method::GET, "GET", Route::GetOrder(id.to_string())),
        _ => Route::NotFound,
    }
}

fn only(method: &Method, allowed: &Method, allow: &'static str, route: Route) -> Route {
    if method == allowed {
        route
    } else {
        Route::WrongMethod(allow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_resource_answers_its_method_and_names_it_for_others() {
        assert_eq!(route(&Method::POST, "/orders"), Route::PostOrder);
        assert_eq!(route(&Method::GET, "/orders/o-1"), Route::GetOrder("o-1".into()));
        assert_eq!(route(&Method::GET, "/health"), Route::Health);
        assert_eq!(route(&Method::GET, "/orders"), Route::WrongMethod("POST"));
        assert_eq!(route(&Method::DELETE, "/orders/o-1"), Route::WrongMethod("GET"));
        assert_eq!(route(&Method::POST, "/health"), Route::WrongMethod("GET"));
    }

    #[test]
    fn paths_are_not_normalised_into_other_resources() {
        assert_eq!(route(&Method::GET, "/orders/"), Route::NotFound);
        assert_eq!(route(&Method::GET, "/orders/../health"), Route::NotFound);
        assert_eq!(route(&Method::GET, "/orders/a/b"), Route::NotFound);
        assert_eq!(route(&Method::GET, "//orders"), Route::NotFound);
        assert_eq!(route(&Method::GET, "/orders/..%2Fhealth"), Route::GetOrder("..%2Fhealth".into()));
        assert_eq!(route(&Method::POST, "/Orders"), Route::NotFound);
    }
}
