// ReDoc from the service's own copy.
//
// Its sidebar footer always shows a logo from the vendor's CDN. The page's Content-Security-Policy
// would block that request (and log an error): point that one image at the service's own icon.
(() => {
  const REMOTE_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg";
  const LOCAL_LOGO = "/static/vendor/favicon.png";
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    const local = this instanceof HTMLImageElement && name === "src" && value === REMOTE_LOGO;
    return setAttribute.call(this, name, local ? LOCAL_LOGO : value);
  };
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    ...src,
    set(value) {
      src.set.call(this, value === REMOTE_LOGO ? LOCAL_LOGO : value);
    },
  });
})();

window.addEventListener("load", () => {
  Redoc.init("/openapi.json", {}, document.getElementById("redoc"));
});
