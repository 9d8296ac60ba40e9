/* facebook.c — Facebook Messenger webhook (being written; see webhooks.h).
 * Until its secret handling lands it behaves as an unconfigured channel. */
#include "webhooks.h"

static http_status webhook_unconfigured(http_req *r)
{
    http_reply_error(r, 404, "not_found", NULL, "this channel's webhook is not configured");
    return HTTP_DONE;
}

http_status webhook_facebook_verify(http_req *r, void *arg)
{
    (void)arg;
    return webhook_unconfigured(r);
}
http_status webhook_facebook_post(http_req *r, void *arg)
{
    (void)arg;
    return webhook_unconfigured(r);
}
http_status webhook_whatsapp_verify(http_req *r, void *arg)
{
    (void)arg;
    return webhook_unconfigured(r);
}
http_status webhook_whatsapp_post(http_req *r, void *arg)
{
    (void)arg;
    return webhook_unconfigured(r);
}
http_status webhook_zalo_post(http_req *r, void *arg)
{
    (void)arg;
    return webhook_unconfigured(r);
}
http_status webhook_twilio_sms_post(http_req *r, void *arg)
{
    (void)arg;
    return webhook_unconfigured(r);
}
http_status webhook_email_post(http_req *r, void *arg)
{
    (void)arg;
    return webhook_unconfigured(r);
}
