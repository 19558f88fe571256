/* django-celery-beat's periodic task form shows the chosen crontab in words under the field.
   Its template does that in an inline <script>, which the CSP refuses; this file does the same
   (templates/admin/djcelery/change_periodictask_form.html overrides that template). */
"use strict";
{
    const script = document.currentScript;
    const readableCrontabs = JSON.parse(document.getElementById("readable-crontabs").textContent);
    const originalHelp = script.dataset.crontabHelp;
    const $ = django.jQuery;

    $(function () {
        $(".field-crontab_translation").hide();
        $(".field-crontab").on("change", function () {
            const help = $(".field-crontab .help");
            const translation = readableCrontabs[$("#id_crontab").val()];
            // Text nodes, not HTML: the translation is data.
            help.empty().append(document.createTextNode(originalHelp), $("<br>"),
                document.createTextNode(`Translation: ${translation}`));
        });
    });
}
