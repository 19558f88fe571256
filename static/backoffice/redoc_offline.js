/* Loaded before ReDoc's bundle on /api/redoc/. ReDoc's sidebar footer always shows Redocly's logo
   from their CDN: the CSP (img-src 'self' data:) refuses it, and the page must not call a third
   party anyway. That one image gets an empty local picture instead; the link text stays. */
"use strict";
{
    const CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg";
    const EMPTY = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E";
    const local = (element, name, value) =>
        element instanceof HTMLImageElement && name.toLowerCase() === "src" && value === CDN_LOGO ? EMPTY : value;

    const setAttribute = Element.prototype.setAttribute;
    Element.prototype.setAttribute = function (name, value) {
        return setAttribute.call(this, name, local(this, String(name), value));
    };
    const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
    Object.defineProperty(HTMLImageElement.prototype, "src", {
        ...src,
        set(value) { src.set.call(this, local(this, "src", value)); },
    });
}
