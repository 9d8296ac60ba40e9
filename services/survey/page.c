/* page.c — the survey's HTML in Vietnamese and English; see page.h.
 *
 * Every text lives in one table per language (struct texts), so the two
 * languages cannot drift apart in structure. The style sheet is one
 * constant: its SHA-256 goes into the CSP header, so no other style, and no
 * script at all, can run on the page.
 */
#include "page.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "html.h"

struct texts {
    const char *title, *intro, *required;
    const char *q1, *csat[SURVEY_CSAT_MAX];
    const char *q2, *ces[SURVEY_CES_MAX];
    const char *comment, *comment_hint, *submit;
    const char *other_lang_code, *other_lang_name;
    const char *errors_title, *err_csat, *err_ces, *err_comment;
    const char *thanks_title, *thanks_body;
    const char *notice_title[NOTICE_EXAMPLE + 1], *notice_body[NOTICE_EXAMPLE + 1];
    const char *reopen;
    const char *home_title, *home_intro, *home_links, *home_example, *home_api, *home_back;
    const char *example_note;
};

static const struct texts vi = {
    .title = "Đánh giá chất lượng hỗ trợ",
    .intro = "Cảm ơn anh/chị đã liên hệ với chúng tôi. Hai câu hỏi ngắn sau giúp chúng tôi phục "
             "vụ anh/chị tốt hơn.",
    .required = "Câu 1 và câu 2 là bắt buộc.",
    .q1 = "1. Anh/chị hài lòng thế nào với lần hỗ trợ này?",
    .csat = {"Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"},
    .q2 = "2. Anh/chị đồng ý thế nào với nhận định: “Công ty đã giúp tôi giải quyết vấn đề "
          "một cách dễ dàng”?",
    .ces = {"Hoàn toàn không đồng ý", "Không đồng ý", "Hơi không đồng ý", "Trung lập", "Hơi đồng ý",
            "Đồng ý", "Hoàn toàn đồng ý"},
    .comment = "3. Góp ý thêm (không bắt buộc)",
    .comment_hint = "Tối đa 2.000 ký tự.",
    .submit = "Gửi đánh giá",
    .other_lang_code = "en",
    .other_lang_name = "English",
    .errors_title = "Vui lòng kiểm tra lại:",
    .err_csat = "Hãy chọn mức độ hài lòng (câu 1).",
    .err_ces = "Hãy chọn mức độ đồng ý (câu 2).",
    .err_comment = "Góp ý dài quá 2.000 ký tự hoặc chứa ký tự không hợp lệ (câu 3).",
    .thanks_title = "Cảm ơn anh/chị!",
    .thanks_body = "Chúng tôi đã nhận được đánh giá của anh/chị. Ý kiến của anh/chị giúp chúng "
                   "tôi phục vụ tốt hơn.",
    .notice_title =
        {
            [NOTICE_INVALID] = "Liên kết không hợp lệ",
            [NOTICE_EXPIRED] = "Khảo sát đã hết hạn",
            [NOTICE_ANSWERED] = "Anh/chị đã trả lời khảo sát này",
            [NOTICE_CSRF] = "Biểu mẫu đã hết hiệu lực",
            [NOTICE_UNAVAILABLE] = "Tạm thời chưa thể xử lý",
            [NOTICE_BAD_REQUEST] = "Yêu cầu không hợp lệ",
            [NOTICE_EXAMPLE] = "Đây chỉ là biểu mẫu mẫu",
        },
    .notice_body =
        {
            [NOTICE_INVALID] = "Liên kết khảo sát này không đúng hoặc đã bị thay đổi. Vui lòng "
                               "dùng đúng liên kết chúng tôi đã gửi cho anh/chị.",
            [NOTICE_EXPIRED] = "Rất tiếc, thời hạn trả lời khảo sát này đã kết thúc. Cảm ơn "
                               "anh/chị đã quan tâm.",
            [NOTICE_ANSWERED] = "Chúng tôi đã ghi nhận câu trả lời trước đó của anh/chị và "
                                "không thay đổi gì thêm. Cảm ơn anh/chị!",
            [NOTICE_CSRF] = "Vì lý do an toàn, vui lòng mở lại khảo sát và gửi lại câu trả "
                            "lời. Chưa có gì được ghi nhận.",
            [NOTICE_UNAVAILABLE] = "Chưa có gì được ghi nhận. Vui lòng thử lại sau ít phút.",
            [NOTICE_BAD_REQUEST] = "Vui lòng gửi câu trả lời từ biểu mẫu khảo sát. Chưa có gì "
                                   "được ghi nhận.",
            [NOTICE_EXAMPLE] = "Không có gì được ghi nhận. Với một liên kết thật, câu trả lời "
                               "được lưu lại và khách hàng thấy trang cảm ơn.",
        },
    .reopen = "Mở lại khảo sát",
    .home_title = "Khảo sát mức độ hài lòng",
    .home_intro = "Khi một yêu cầu hỗ trợ được giải quyết, carebus hỏi khách hàng cảm nhận của họ "
                  "bằng một biểu mẫu ngắn: mức độ hài lòng (CSAT, 1–5), mức độ dễ dàng (CES, "
                  "1–7) và góp ý không bắt buộc.",
    .home_links = "Mỗi khách hàng nhận một liên kết riêng có chữ ký, /s/{token}, trên chính kênh "
                  "họ đã liên hệ (hệ thống tích hợp gửi đi từ sự kiện survey.requested hoặc "
                  "webhook). Liên kết chỉ trả lời được một lần và hết hạn sau một thời gian.",
    .home_example = "Xem thử biểu mẫu khảo sát",
    .home_api = "Hệ thống tích hợp hỏi khách hàng qua chat có thể gửi câu trả lời tới "
                "POST /v1/surveys/{token}/answer.",
    .home_back = "Về trang khảo sát",
    .example_note = "Đây là biểu mẫu mẫu: câu trả lời sẽ không được ghi nhận.",
};

static const struct texts en = {
    .title = "How did we do?",
    .intro = "Thank you for contacting us. Two short questions help us serve you better.",
    .required = "Questions 1 and 2 are required.",
    .q1 = "1. How satisfied are you with the support you received?",
    .csat = {"Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"},
    .q2 = "2. How much do you agree: “The company made it easy to handle my issue”?",
    .ces = {"Strongly disagree", "Disagree", "Somewhat disagree", "Neither agree nor disagree",
            "Somewhat agree", "Agree", "Strongly agree"},
    .comment = "3. Anything else you would like to tell us? (optional)",
    .comment_hint = "Up to 2,000 characters.",
    .submit = "Send my answers",
    .other_lang_code = "vi",
    .other_lang_name = "Tiếng Việt",
    .errors_title = "Please check:",
    .err_csat = "Choose how satisfied you are (question 1).",
    .err_ces = "Choose how much you agree (question 2).",
    .err_comment = "The comment is longer than 2,000 characters or has invalid characters "
                   "(question 3).",
    .thanks_title = "Thank you!",
    .thanks_body = "We have received your answers. They help us serve you better.",
    .notice_title =
        {
            [NOTICE_INVALID] = "This link is not valid",
            [NOTICE_EXPIRED] = "This survey has closed",
            [NOTICE_ANSWERED] = "You have already answered this survey",
            [NOTICE_CSRF] = "This form has expired",
            [NOTICE_UNAVAILABLE] = "Temporarily unavailable",
            [NOTICE_BAD_REQUEST] = "Bad request",
            [NOTICE_EXAMPLE] = "This was only an example",
        },
    .notice_body =
        {
            [NOTICE_INVALID] = "This survey link is not valid or has been altered. Please use "
                               "the link exactly as we sent it.",
            [NOTICE_EXPIRED] = "Sorry, the time to answer this survey is over. Thank you for "
                               "your interest.",
            [NOTICE_ANSWERED] = "We kept your earlier answers and changed nothing. Thank you!",
            [NOTICE_CSRF] = "For your security, please open the survey again and send your "
                            "answers once more. Nothing was recorded.",
            [NOTICE_UNAVAILABLE] = "Nothing was recorded. Please try again in a few minutes.",
            [NOTICE_BAD_REQUEST] = "Please send your answers from the survey form. Nothing was "
                                   "recorded.",
            [NOTICE_EXAMPLE] = "Nothing was recorded. On a real link the answers are stored and "
                               "the customer sees a thank-you page.",
        },
    .reopen = "Open the survey again",
    .home_title = "Customer satisfaction surveys",
    .home_intro = "Once a support request is solved, carebus asks the customer how it went with a "
                  "short form: satisfaction (CSAT, 1–5), effort (CES, 1–7) and an optional "
                  "comment.",
    .home_links = "Each customer gets a signed link of their own, /s/{token}, on the channel "
                  "they used (your integration sends it from the survey.requested event or the "
                  "outbound webhook). A link can be answered once and expires after a while.",
    .home_example = "See an example of the form",
    .home_api = "Integrations that ask in a chat send the answers to "
                "POST /v1/surveys/{token}/answer instead.",
    .home_back = "Back to the survey service",
    .example_note = "This is an example: answers are not recorded.",
};

/* Contrast on white: text #1a1a1a 17:1, #4b5563 7.6:1, links and the
 * button #0b5cad 6.6:1, errors #991b1b 8.3:1, the check mark #166534 7.1:1;
 * borders #6b7280 4.8:1. */
static const char css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;background:#eef0f3;color:#1a1a1a;"
    "font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,"
    "sans-serif}"
    "main{max-width:42rem;margin:0 auto;padding:1.25rem 1rem 2rem;background:#fff;"
    "min-height:100vh}"
    "h1{font-size:1.5rem;line-height:1.25;margin:.25rem 0 .75rem}"
    "p{margin:.5rem 0}"
    ".hint{color:#4b5563;font-size:.9375rem}"
    "fieldset{border:0;margin:1.5rem 0 0;padding:0;min-width:0}"
    "legend{font-weight:600;font-size:1.0625rem;padding:0;margin-bottom:.625rem}"
    ".opts{display:grid;gap:.5rem}"
    ".opt{display:flex;align-items:center;gap:.75rem;min-height:3rem;padding:.5rem .75rem;"
    "border:2px solid #6b7280;border-radius:.5rem;cursor:pointer;background:#fff}"
    ".opt input{width:1.375rem;height:1.375rem;margin:0;flex:none;accent-color:#0b5cad}"
    ".opt:has(input:checked){border-color:#0b5cad;background:#e6f0fa}"
    ".opt:focus-within{outline:3px solid #0b5cad;outline-offset:2px}"
    ".n{font-weight:700;min-width:1rem;text-align:center}"
    "label.field{display:block;font-weight:600;font-size:1.0625rem;margin:1.5rem 0 .5rem}"
    "textarea{display:block;width:100%;min-height:7rem;padding:.625rem;font:inherit;"
    "color:inherit;border:2px solid #6b7280;border-radius:.5rem;resize:vertical}"
    "textarea:focus{outline:3px solid #0b5cad;outline-offset:2px}"
    "button{display:block;width:100%;min-height:3rem;margin-top:1.75rem;padding:.75rem 1rem;"
    "font:inherit;font-weight:600;color:#fff;background:#0b5cad;border:0;border-radius:.5rem;"
    "cursor:pointer}"
    "button:hover{background:#084a8c}"
    "button:focus-visible{outline:3px solid #1a1a1a;outline-offset:3px}"
    ".alert{margin:1rem 0;padding:.75rem 1rem;border-left:4px solid #991b1b;background:#fdf2f2;"
    "color:#991b1b}"
    ".alert ul{margin:.25rem 0 0;padding-left:1.25rem}"
    ".alert a,.ferr{color:#991b1b}"
    ".ferr{font-weight:600;margin:0 0 .5rem}"
    ".bad .opt,textarea.bad{border-color:#991b1b}"
    ".done{font-size:3rem;line-height:1;margin:1rem 0 0;color:#166534}"
    "a{color:#0b5cad}"
    ".example{margin:1rem 0;padding:.75rem 1rem;border-left:4px solid #0b5cad;"
    "background:#e6f0fa}"
    ".lang{margin-top:2rem;padding-top:1rem;border-top:1px solid #d1d5db;font-size:.9375rem}"
    "@media (min-width:44rem){"
    "body{padding:2rem 1rem}"
    "main{min-height:0;border-radius:.75rem;padding:2rem 2.5rem;"
    "box-shadow:0 1px 3px rgba(0,0,0,.12),0 4px 16px rgba(0,0,0,.06)}"
    ".s5{grid-template-columns:repeat(5,1fr)}"
    ".s5 .opt{flex-direction:column;justify-content:flex-start;text-align:center;gap:.375rem;"
    "padding:.75rem .375rem;font-size:.9375rem}"
    "}"
    "@media (prefers-reduced-motion:no-preference){.opt{transition:border-color .1s}}";

static const struct texts *texts_of(language_id l)
{
    return l == LANGUAGE_EN ? &en : &vi;
}

const char *survey_page_csp(void)
{
    static char csp[256];
    if (!csp[0]) {
        unsigned char md[32];
        unsigned int n = 0;
        EVP_Digest(css, sizeof css - 1, md, &n, EVP_sha256(), NULL);
        unsigned char b64[64];
        EVP_EncodeBlock(b64, md, (int)n);
        snprintf(csp, sizeof csp,
                 "default-src 'none'; style-src 'sha256-%s'; form-action 'self'; "
                 "frame-ancestors 'none'; base-uri 'none'",
                 (const char *)b64);
    }
    return csp;
}

static void page_head(buf *b, language_id l, const char *title)
{
    buf_printf(b,
               "<!doctype html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<meta name=\"robots\" content=\"noindex\">\n<title>",
               language_code(l));
    html_escape(b, title);
    buf_puts(b, "</title>\n<style>");
    buf_puts(b, css);
    buf_puts(b, "</style>\n</head>\n<body>\n<main>\n");
}

static void page_tail(buf *b)
{
    buf_puts(b, "</main>\n</body>\n</html>\n");
}

/* One radio group: a fieldset whose legend is the question. */
static void radio_group(buf *b, const char *name, const char *legend, const char *const *labels,
                        int count, int chosen, bool bad, const char *err, const char *cls)
{
    buf_printf(b, "<fieldset id=\"%s\"", name);
    if (bad)
        buf_printf(b, " class=\"bad\" aria-describedby=\"%s-err\"", name);
    buf_puts(b, ">\n<legend>");
    html_escape(b, legend);
    buf_puts(b, "</legend>\n");
    if (bad) {
        buf_printf(b, "<p class=\"ferr\" id=\"%s-err\">", name);
        html_escape(b, err);
        buf_puts(b, "</p>\n");
    }
    buf_printf(b, "<div class=\"opts %s\">\n", cls);
    for (int i = 1; i <= count; i++) {
        buf_printf(b,
                   "<label class=\"opt\" for=\"%s-%d\"><input type=\"radio\" id=\"%s-%d\" "
                   "name=\"%s\" value=\"%d\" required%s><span class=\"n\">%d</span><span>",
                   name, i, name, i, name, i, i == chosen ? " checked" : "", i);
        html_escape(b, labels[i - 1]);
        buf_puts(b, "</span></label>\n");
    }
    buf_puts(b, "</div>\n</fieldset>\n");
}

void survey_page_form(buf *b, const struct survey_form_view *v)
{
    const struct texts *t = texts_of(v->lang);
    page_head(b, v->lang, t->title);
    buf_puts(b, "<h1>");
    html_escape(b, t->title);
    buf_puts(b, "</h1>\n<p>");
    html_escape(b, t->intro);
    buf_puts(b, "</p>\n<p class=\"hint\">");
    html_escape(b, t->required);
    buf_puts(b, "</p>\n");
    if (v->example) {
        buf_puts(b, "<p class=\"example\" role=\"note\">");
        html_escape(b, t->example_note);
        buf_puts(b, "</p>\n");
    }
    if (v->bad) {
        buf_puts(b, "<div class=\"alert\" role=\"alert\"><p><strong>");
        html_escape(b, t->errors_title);
        buf_puts(b, "</strong></p><ul>");
        if (v->bad & SURVEY_BAD_CSAT) {
            buf_puts(b, "<li><a href=\"#csat-1\">");
            html_escape(b, t->err_csat);
            buf_puts(b, "</a></li>");
        }
        if (v->bad & SURVEY_BAD_CES) {
            buf_puts(b, "<li><a href=\"#ces-1\">");
            html_escape(b, t->err_ces);
            buf_puts(b, "</a></li>");
        }
        if (v->bad & SURVEY_BAD_COMMENT) {
            buf_puts(b, "<li><a href=\"#comment\">");
            html_escape(b, t->err_comment);
            buf_puts(b, "</a></li>");
        }
        buf_puts(b, "</ul></div>\n");
    }
    buf_puts(b, "<form method=\"post\" action=\"");
    html_escape(b, v->token);
    buf_puts(b, "\" accept-charset=\"utf-8\">\n<input type=\"hidden\" name=\"csrf\" value=\"");
    html_escape(b, v->csrf);
    buf_printf(b, "\">\n<input type=\"hidden\" name=\"lang\" value=\"%s\">\n",
               language_code(v->lang));
    radio_group(b, "csat", t->q1, t->csat, SURVEY_CSAT_MAX, v->csat,
                (v->bad & SURVEY_BAD_CSAT) != 0, t->err_csat, "s5");
    radio_group(b, "ces", t->q2, t->ces, SURVEY_CES_MAX, v->ces, (v->bad & SURVEY_BAD_CES) != 0,
                t->err_ces, "s7");
    bool bad_comment = (v->bad & SURVEY_BAD_COMMENT) != 0;
    buf_puts(b, "<label class=\"field\" for=\"comment\">");
    html_escape(b, t->comment);
    buf_puts(b, "</label>\n");
    if (bad_comment) {
        buf_puts(b, "<p class=\"ferr\" id=\"comment-err\">");
        html_escape(b, t->err_comment);
        buf_puts(b, "</p>\n");
    }
    buf_printf(b,
               "<textarea id=\"comment\" name=\"comment\" rows=\"5\" maxlength=\"%d\" "
               "aria-describedby=\"%scomment-hint\"%s>",
               SURVEY_COMMENT_MAX, bad_comment ? "comment-err " : "",
               bad_comment ? " class=\"bad\" aria-invalid=\"true\"" : "");
    /* A newline right after <textarea> would be eaten by the parser. */
    if (v->comment && v->comment[0] == '\n')
        buf_putc(b, '\n');
    html_escape(b, v->comment);
    buf_puts(b, "</textarea>\n<p class=\"hint\" id=\"comment-hint\">");
    html_escape(b, t->comment_hint);
    buf_puts(b, "</p>\n<button type=\"submit\">");
    html_escape(b, t->submit);
    buf_puts(b, "</button>\n</form>\n");
    buf_printf(b, "<p class=\"lang\"><a href=\"?lang=%s\" lang=\"%s\" hreflang=\"%s\">",
               t->other_lang_code, t->other_lang_code, t->other_lang_code);
    html_escape(b, t->other_lang_name);
    buf_puts(b, "</a></p>\n");
    page_tail(b);
}

void survey_page_thanks(buf *b, language_id l)
{
    const struct texts *t = texts_of(l);
    page_head(b, l, t->thanks_title);
    buf_puts(b, "<p class=\"done\" aria-hidden=\"true\">✓</p>\n<h1>");
    html_escape(b, t->thanks_title);
    buf_puts(b, "</h1>\n<p>");
    html_escape(b, t->thanks_body);
    buf_puts(b, "</p>\n");
    page_tail(b);
}

void survey_page_notice(buf *b, language_id l, survey_notice n, const char *token)
{
    const struct texts *t = texts_of(l);
    page_head(b, l, t->notice_title[n]);
    buf_puts(b, "<h1>");
    html_escape(b, t->notice_title[n]);
    buf_puts(b, "</h1>\n<p>");
    html_escape(b, t->notice_body[n]);
    buf_puts(b, "</p>\n");
    if (n == NOTICE_CSRF && token) {
        buf_puts(b, "<p><a href=\"");
        html_escape(b, token);
        buf_printf(b, "?lang=%s\">", language_code(l));
        html_escape(b, t->reopen);
        buf_puts(b, "</a></p>\n");
    }
    if (n == NOTICE_EXAMPLE) {
        buf_printf(b, "<p><a href=\"./?lang=%s\">", language_code(l));
        html_escape(b, t->home_back);
        buf_puts(b, "</a></p>\n");
    }
    page_tail(b);
}

void survey_page_home(buf *b, language_id l)
{
    const struct texts *t = texts_of(l);
    page_head(b, l, t->home_title);
    buf_puts(b, "<h1>");
    html_escape(b, t->home_title);
    buf_puts(b, "</h1>\n<p>");
    html_escape(b, t->home_intro);
    buf_puts(b, "</p>\n<p>");
    html_escape(b, t->home_links);
    buf_printf(b, "</p>\n<p><a href=\"example?lang=%s\">", language_code(l));
    html_escape(b, t->home_example);
    buf_puts(b, "</a></p>\n<p class=\"hint\">");
    html_escape(b, t->home_api);
    buf_printf(b, "</p>\n<p class=\"lang\"><a href=\"?lang=%s\" lang=\"%s\" hreflang=\"%s\">",
               t->other_lang_code, t->other_lang_code, t->other_lang_code);
    html_escape(b, t->other_lang_name);
    buf_puts(b, "</a></p>\n");
    page_tail(b);
}
