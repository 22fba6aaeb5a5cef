#include "agent/uplink/mosquitto_api.h"

#include "agent/platform/linux/shared_library.h"

namespace vigil {

Result<const MosquittoApi*> LoadMosquitto() {
  return LoadForProcess<MosquittoApi>({"libmosquitto.so.1"}, "install the package libmosquitto1, version 2.0 or later",
                                      [](SharedLibrary& lib, MosquittoApi& a) {
                                        lib.Bind(a.lib_init, "mosquitto_lib_init");
                                        lib.Bind(a.create, "mosquitto_new");
                                        lib.Bind(a.destroy, "mosquitto_destroy");
                                        lib.Bind(a.int_option, "mosquitto_int_option");
                                        lib.Bind(a.connect_callback_set, "mosquitto_connect_v5_callback_set");
                                        lib.Bind(a.disconnect_callback_set, "mosquitto_disconnect_v5_callback_set");
                                        lib.Bind(a.publish_callback_set, "mosquitto_publish_v5_callback_set");
                                        lib.Bind(a.message_callback_set, "mosquitto_message_v5_callback_set");
                                        lib.Bind(a.log_callback_set, "mosquitto_log_callback_set");
                                        lib.Bind(a.username_pw_set, "mosquitto_username_pw_set");
                                        lib.Bind(a.tls_set, "mosquitto_tls_set");
                                        lib.Bind(a.tls_opts_set, "mosquitto_tls_opts_set");
                                        lib.Bind(a.will_set, "mosquitto_will_set_v5");
                                        lib.Bind(a.connect, "mosquitto_connect_bind_v5");
                                        lib.Bind(a.loop, "mosquitto_loop");
                                        lib.Bind(a.publish, "mosquitto_publish_v5");
                                        lib.Bind(a.subscribe, "mosquitto_subscribe_v5");
                                        lib.Bind(a.disconnect, "mosquitto_disconnect_v5");
                                        lib.Bind(a.strerror, "mosquitto_strerror");
                                        lib.Bind(a.reason_string, "mosquitto_reason_string");
                                        if (lib.status().ok()) a.lib_init();
                                      });
}

}  // namespace vigil
