/* dashboard_assets.c — the dashboard's style sheet and labels, compiled in.
 *
 * Plain string literals: the binary carries its page, nothing is fetched.
 * Colours meet WCAG AA contrast on white; charts are labelled for screen
 * readers by dashboard.c (role="img", <title>).
 */
#include "dashboard.h"

const char dashboard_css[] =
    ":root{--ink:#1b2430;--muted:#5a6472;--line:#d9dee5;--bg:#f5f7fa;--card:#fff;"
    "--accent:#0b5cad}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',"
    "sans-serif;color:var(--ink);background:var(--bg)}"
    "header{background:#0b3d6e;color:#fff;padding:16px 24px;display:flex;"
    "flex-wrap:wrap;align-items:baseline;justify-content:space-between;gap:8px}"
    "header h1{margin:0;font-size:22px}"
    "header p{margin:2px 0 0;color:#d6e4f2;font-size:13px}"
    "header nav a{color:#fff;margin-left:12px}"
    "main{padding:16px 24px;max-width:1280px;margin:0 auto}"
    "form{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-end;background:var(--card);"
    "border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin-bottom:16px}"
    "label{display:flex;flex-direction:column;font-size:13px;color:var(--muted)}"
    "input{font:inherit;padding:6px 8px;border:1px solid #9aa5b1;border-radius:6px}"
    "button{font:inherit;padding:7px 16px;border:0;border-radius:6px;background:var(--accent);"
    "color:#fff;cursor:pointer}"
    ".note{color:var(--muted);font-size:13px;margin:0 0 12px}"
    ".error{background:#fdecea;border:1px solid #f5c2bd;color:#8a1c12;padding:10px 14px;"
    "border-radius:8px;margin-bottom:16px}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;"
    "margin-bottom:18px}"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:8px;"
    "padding:10px 12px}"
    ".card dt{font-size:12px;color:var(--muted)}"
    ".card dd{margin:4px 0 0;font-size:22px;font-weight:600}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:14px}"
    "figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;"
    "padding:10px 12px}"
    "figcaption{font-weight:600;margin-bottom:4px}"
    "svg{width:100%;height:auto;display:block}"
    "svg text{font-size:11px;fill:var(--muted)}"
    ".legend{display:flex;flex-wrap:wrap;gap:10px;font-size:12px;color:var(--muted);"
    "margin:4px 0 0;padding:0;list-style:none}"
    ".legend span{display:inline-block;width:10px;height:10px;border-radius:2px;"
    "margin-right:4px;vertical-align:-1px}"
    "footer{color:var(--muted);font-size:12px;padding:8px 24px 24px;max-width:1280px;"
    "margin:0 auto}"
    "header nav form{display:inline-flex;margin:0 0 0 12px;padding:0;border:0;"
    "background:none}"
    "header nav button{padding:3px 12px;background:#fff;color:#0b3d6e}"
    "main.narrow{max-width:560px}"
    "form.stack{flex-direction:column;align-items:stretch}"
    "form.stack h2{margin:0;font-size:18px}"
    ".ok{background:#ebfbee;border:1px solid #b2f2bb;color:#1b5e20;padding:10px 14px;"
    "border-radius:8px;margin-bottom:16px}"
    "@media (max-width:620px){.charts{grid-template-columns:1fr}main{padding:12px}}";

const char *const dashboard_labels[2][L_COUNT] = {
    [LANG_VI] =
        {
            [L_TITLE] = "Chỉ số chăm sóc khách hàng",
            [L_SUBTITLE] = "Bảng điều khiển KPI của bộ phận CSKH",
            [L_FROM] = "Từ ngày",
            [L_TO] = "Đến ngày",
            [L_SHOW] = "Xem",
            [L_PERIOD] = "Kỳ báo cáo",
            [L_TZ] = "Múi giờ",
            [L_CHART_CONTACTS] = "Lượt liên hệ theo kênh",
            [L_CHART_FR] = "Thời gian phản hồi đầu tiên",
            [L_CHART_RES] = "Thời gian giải quyết",
            [L_CHART_CSAT] = "CSAT theo ngày (%)",
            [L_CHART_CES] = "CES theo ngày (1–7)",
            [L_CHART_SLA] = "Tuân thủ SLA theo ngày (%)",
            [L_CHART_BACKLOG] = "Tồn đọng theo tuổi phiếu (cuối kỳ)",
            [L_AVG] = "Trung bình",
            [L_P90] = "P90",
            [L_SLA_ALL] = "Tất cả mục tiêu",
            [L_SLA_FR] = "Phản hồi đầu tiên",
            [L_SLA_RES] = "Giải quyết",
            [L_AGE_1D] = "≤ 1 ngày",
            [L_AGE_3D] = "1–3 ngày",
            [L_AGE_7D] = "3–7 ngày",
            [L_AGE_OLDER] = "> 7 ngày",
            [L_OPEN_PENDING] = "phiếu đang mở hoặc chờ khách",
            [L_NO_DATA] = "Không có dữ liệu trong kỳ",
            [L_UNAVAILABLE] = "Không đọc được dữ liệu KPI, vui lòng thử lại sau giây lát.",
            [L_BAD_PERIOD] = "Kỳ báo cáo không hợp lệ",
            [L_BUSINESS_NOTE] = "Thời gian tính theo lịch (giờ thực tế).",
            [L_UNIT_S] = "giây",
            [L_UNIT_MIN] = "phút",
            [L_UNIT_H] = "giờ",
            [L_UNIT_D] = "ngày",
            [L_SIGNIN_TITLE] = "Đăng nhập bảng điều khiển",
            [L_SIGNIN_HELP] = "Dán một khóa API có quyền “read” (carebusctl keys create "
                              "--scopes read). Phiên đăng nhập kết thúc khi hết hạn, khi bạn "
                              "đăng xuất hoặc khi khóa bị thu hồi.",
            [L_KEY] = "Khóa API",
            [L_SIGNIN] = "Đăng nhập",
            [L_SIGNOUT] = "Đăng xuất",
            [L_SIGNED_OUT] = "Bạn đã đăng xuất.",
            [L_BAD_KEY] = "Khóa API không hợp lệ hoặc đã bị thu hồi.",
            [L_NO_READ] = "Khóa này không có quyền “read”.",
            [L_BAD_ORIGIN] = "Yêu cầu này không đến từ trang của carebus.",
        },
    [LANG_EN] =
        {
            [L_TITLE] = "Customer care KPIs",
            [L_SUBTITLE] = "The care department's KPI dashboard",
            [L_FROM] = "From",
            [L_TO] = "To",
            [L_SHOW] = "Show",
            [L_PERIOD] = "Period",
            [L_TZ] = "Time zone",
            [L_CHART_CONTACTS] = "Contacts by channel",
            [L_CHART_FR] = "First-response time",
            [L_CHART_RES] = "Resolution time",
            [L_CHART_CSAT] = "CSAT per day (%)",
            [L_CHART_CES] = "CES per day (1–7)",
            [L_CHART_SLA] = "SLA compliance per day (%)",
            [L_CHART_BACKLOG] = "Backlog by ticket age (period end)",
            [L_AVG] = "Average",
            [L_P90] = "P90",
            [L_SLA_ALL] = "All targets",
            [L_SLA_FR] = "First response",
            [L_SLA_RES] = "Resolution",
            [L_AGE_1D] = "≤ 1 day",
            [L_AGE_3D] = "1–3 days",
            [L_AGE_7D] = "3–7 days",
            [L_AGE_OLDER] = "> 7 days",
            [L_OPEN_PENDING] = "tickets open or pending on the customer",
            [L_NO_DATA] = "No data in this period",
            [L_UNAVAILABLE] = "The KPI store could not be read; please retry in a moment.",
            [L_BAD_PERIOD] = "Invalid period",
            [L_BUSINESS_NOTE] = "Times are calendar time.",
            [L_UNIT_S] = "s",
            [L_UNIT_MIN] = "min",
            [L_UNIT_H] = "h",
            [L_UNIT_D] = "d",
            [L_SIGNIN_TITLE] = "Sign in to the dashboard",
            [L_SIGNIN_HELP] = "Paste an API key with the “read” scope (carebusctl keys "
                              "create --scopes read). The session ends when it expires, when you "
                              "sign out, or when the key is revoked.",
            [L_KEY] = "API key",
            [L_SIGNIN] = "Sign in",
            [L_SIGNOUT] = "Sign out",
            [L_SIGNED_OUT] = "You are signed out.",
            [L_BAD_KEY] = "This API key is not valid, or it was revoked.",
            [L_NO_READ] = "This key lacks the “read” scope.",
            [L_BAD_ORIGIN] = "This request did not come from a carebus page.",
        },
};
