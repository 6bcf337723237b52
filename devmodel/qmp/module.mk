# devmodel/qmp/module.mk: the QMP server libxl talks to (devmodel/qmp/qmp.h).
# devmodel/module.mk compiles devmodel/qmp/*.c into vdm; this adds json-c
# (Debian's libjson-c-dev), the JSON library every message goes through.
QMP_JSON_CFLAGS := $(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null)
QMP_JSON_LIBS := $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null || echo -ljson-c)
VDM_EXTRA_LIBS += $(QMP_JSON_LIBS)
QMP_OBJS := $(patsubst %.c,$(O)/%.o,$(sort $(wildcard devmodel/qmp/*.c)))
$(QMP_OBJS): CPPFLAGS_ALL += $(QMP_JSON_CFLAGS)
