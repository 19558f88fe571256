/* The navigation sidebar on a changelist (templates/admin/change_list.html): collapsed unless staff opened it on a
   changelist before. Its own key in localStorage, so opening or closing it here leaves the admin's other pages as
   they were (Django's nav_sidebar.js keeps theirs under django.admin.navSidebarIsOpen, open by default). */
"use strict";
{
    const KEY = "backoffice.changelistNavSidebarIsOpen";
    const toggle = document.getElementById("bo-toggle-nav-sidebar");
    const main = document.getElementById("main");
    const navSidebar = document.getElementById("nav-sidebar");
    if (toggle !== null && main !== null && navSidebar !== null) {
        const show = (open) => {
            main.classList.toggle("shifted", open);
            navSidebar.setAttribute("aria-expanded", String(open));
            toggle.setAttribute("aria-expanded", String(open));
        };
        show(localStorage.getItem(KEY) === "true");
        toggle.addEventListener("click", () => {
            const open = !main.classList.contains("shifted");
            localStorage.setItem(KEY, String(open));
            show(open);
        });
    }
}
