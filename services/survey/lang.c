/* lang.c — the survey's invitation, in Vietnamese or English (the
 * language itself is guessed by language.h).
 */
#include "lang.h"

void survey_lang_request_text(buf *b, language_id l, const char *link)
{
    if (l == LANGUAGE_EN)
        buf_printf(b, "Thank you for contacting us. Please take a minute to tell us how we did: %s",
                   link);
    else
        buf_printf(b,
                   "Cảm ơn anh/chị đã liên hệ với chúng tôi. Anh/chị vui lòng dành một phút "
                   "cho biết cảm nhận về lần hỗ trợ vừa qua: %s",
                   link);
}
