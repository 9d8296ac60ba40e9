/* dashboard.h — the dashboard's fixed parts: style and labels.
 *
 * The page is built server-side (dashboard.c): HTML with inline CSS and
 * inline SVG charts, no script, no font, no request to anything but the
 * page itself. Its style sheet and the page's own words (Vietnamese and
 * English) are compiled in from dashboard_assets.c; the KPIs' labels and
 * which KPIs are headline cards come from kpi.def, the labels of channels
 * and other enum values from label.h.
 */
#ifndef CAREBUS_ANALYTICS_DASHBOARD_H
#define CAREBUS_ANALYTICS_DASHBOARD_H

#include "label.h"

/* The page's languages are label.h's, so that enum labels need no mapping. */
enum dash_lang { LANG_VI = LABEL_VI, LANG_EN = LABEL_EN };
/* The contacts chart's room for channels (asserted against the schema). */
#define DASH_MAX_CHANNELS 64

enum dash_label {
    L_TITLE,
    L_SUBTITLE,
    L_FROM,
    L_TO,
    L_SHOW,
    L_PERIOD,
    L_TZ,
    L_CHART_CONTACTS,
    L_CHART_FR,
    L_CHART_RES,
    L_CHART_CSAT,
    L_CHART_CES,
    L_CHART_SLA,
    L_CHART_BACKLOG,
    L_AVG,
    L_P90,
    L_SLA_ALL,
    L_SLA_FR,
    L_SLA_RES,
    L_AGE_1D,
    L_AGE_3D,
    L_AGE_7D,
    L_AGE_OLDER,
    L_OPEN_PENDING,
    L_NO_DATA,
    L_UNAVAILABLE,
    L_BAD_PERIOD,
    L_BUSINESS_NOTE,
    L_UNIT_S,
    L_UNIT_MIN,
    L_UNIT_H,
    L_UNIT_D,
    L_SIGNIN_TITLE,
    L_SIGNIN_HELP,
    L_KEY,
    L_SIGNIN,
    L_SIGNOUT,
    L_SIGNED_OUT,
    L_BAD_KEY,
    L_NO_READ,
    L_BAD_ORIGIN,
    L_COUNT
};

extern const char dashboard_css[];
/* labels[lang][label] */
extern const char *const dashboard_labels[2][L_COUNT];

/* The page's language: vi unless ?lang=en, or an Accept-Language that
 * ranks English above Vietnamese (dashboard.c). */
struct http_req;
enum dash_lang dashboard_lang(struct http_req *r);
/* The page's style and CSP headers, for the dashboard and its sign-in. */
void dashboard_headers(struct http_req *r, enum dash_lang lang);

#endif
