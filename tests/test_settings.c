/* Training settings: paper defaults, JSON round trip, and errors that name the key. */
#include <string.h>

#include "model/settings.h"
#include "testutil.h"

int main(void) {
    mltc_error err = {0};
    train_settings s, r;
    train_settings_papers(&s);
    tu_check(s.lr == 5e-5 && s.batch == 16 && s.warmup == 0.1 && s.dropout == 0.1 && s.threshold == 0.5 &&
                 s.lambda == 0.05 && s.mask_prob == 0.15,
             "the papers' recipe");
    train_settings_default(&s);
    s.head = HEAD_LMMTC;
    s.seed = 18446744073709551615ull; /* beyond a double's exact integers */
    s.shared_label_tokens = 1;
    s.epochs = 7;
    cJSON *j = train_settings_to_json(&s);
    char *text = cJSON_PrintUnformatted(j);
    cJSON *back = cJSON_Parse(text);
    train_settings_default(&r);
    tu_status(train_settings_from_json(&err, back, "mltc.json", &r), MLTC_OK, &err, "round trip");
    tu_check(!memcmp(&s, &r, sizeof s), "round trip keeps every setting: %s", text);
    cJSON_free(text);
    cJSON_Delete(j);
    cJSON_Delete(back);

    struct { const char *json; const char *needle; } bad[] = {
        {"{\"batch\": \"16\"}", "settings.batch must be a number"},
        {"{\"batch\": 2.5}", "settings.batch must be an integer"},
        {"{\"batch\": 0}", "batch 0 must be >= 1"},
        {"{\"head\": \"gpt\"}", "expected bert, lmmtc or lam"},
        {"{\"seed\": 12}", "settings.seed must be a decimal string"},
        {"{\"dropout\": 1.5}", "dropout 1.5 must be in [0, 1)"},
        {"{\"label_tokens\": \"some\"}", "label_tokens must be"},
        {"[1]", "settings must be an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *o = cJSON_Parse(bad[i].json);
        train_settings_default(&r);
        mltc_status st = train_settings_from_json(&err, o, "ckpt/mltc.json", &r);
        tu_check(st != MLTC_OK && strstr(err.msg, bad[i].needle) != NULL, "%s: got '%s', want a message with '%s'",
                 bad[i].json, err.msg, bad[i].needle);
        cJSON_Delete(o);
    }
    return tu_finish();
}
