/*
 * vdev-bad-VARIANT.so: a descriptor with exactly one mistake, chosen by the
 * BAD_* macro the make fragment defines (the loader must refuse each one
 * with its own message). BAD_NAME is the descriptor's name.
 */
#include <vdev/vdev.h>

__attribute__((unused)) static int bad_create(const struct vdev_host *host, vdev_host_t *h,
					      const struct vdev_config *cfg, void **dev)
{
	*dev = NULL;
	return 0;
}

static void bad_destroy(void *dev)
{
}

__attribute__((unused)) static const struct vdev_ops bad_ops = {
    .struct_size = sizeof(struct vdev_ops),
#ifndef BAD_nocreate
    .create = bad_create,
#endif
    .destroy = bad_destroy,
};

#ifdef BAD_intc_noset
static unsigned bad_line_count(void *dev)
{
	return 8;
}

static const struct vdev_intc_ops bad_intc = {
    .struct_size = sizeof(struct vdev_intc_ops),
    .line_count = bad_line_count,
};
#endif

__attribute__((unused)) static const char *const colours[] = {"red", "green", NULL};
#ifdef BAD_enum_nochoices
static const char *const no_colours[] = {NULL};
#endif

static const struct vdev_option_spec bad_options[] = {
    {.name = "speed", .type = VDEV_OPT_UINT, .default_value = "9600"},
#if defined(BAD_opt_empty)
    {.name = "", .type = VDEV_OPT_UINT},
#elif defined(BAD_opt_dup)
    {.name = "speed", .type = VDEV_OPT_UINT},
#elif defined(BAD_opt_badname)
    {.name = "Speed_2", .type = VDEV_OPT_UINT},
#elif defined(BAD_opt_common)
    {.name = "loc", .type = VDEV_OPT_LOC},
#elif defined(BAD_opt_type)
    {.name = "mystery", .type = (enum vdev_option_type)42},
#elif defined(BAD_opt_flags)
    {.name = "flagged", .type = VDEV_OPT_UINT, .flags = 1u << 9},
#elif defined(BAD_enum_nochoices)
    {.name = "colour", .type = VDEV_OPT_ENUM, .choices = no_colours},
#elif defined(BAD_noarg_nonbool)
    {.name = "count", .type = VDEV_OPT_UINT, .flags = VDEV_OPTF_NOARG},
#elif defined(BAD_default_bad)
    {.name = "count", .type = VDEV_OPT_UINT, .default_value = "12x"},
#elif defined(BAD_default_range)
    {.name = "count",
     .type = VDEV_OPT_UINT,
     .flags = VDEV_OPTF_RANGE,
     .min = 1,
     .max = 10,
     .default_value = "20"},
#elif defined(BAD_default_choice)
    {.name = "colour", .type = VDEV_OPT_ENUM, .choices = colours, .default_value = "purple"},
#else
    {.name = "colour", .type = VDEV_OPT_ENUM, .choices = colours, .default_value = "red"},
#endif
};

static const struct vdev_descriptor bad_desc = {
#if defined(BAD_abi2)
    .abi_major = 2,
    .abi_minor = 0,
    .struct_size = sizeof(struct vdev_descriptor),
#elif defined(BAD_short)
    .abi_major = VDEV_ABI_MAJOR,
    .abi_minor = VDEV_ABI_MINOR,
    .struct_size = 16,
#else
    VDEV_DESCRIPTOR_INIT,
#endif
#if defined(BAD_name_upper)
    .name = "Bad-Name",
#elif defined(BAD_name_empty)
    .name = "",
#elif defined(BAD_misnamed)
    .name = "other-name",
#else
    .name = BAD_NAME,
#endif
#ifndef BAD_noversion
    .version = "0.1",
#endif
#if defined(BAD_flags)
    .flags = 1u << 7,
#elif defined(BAD_intc_noops)
    .flags = VDEV_F_INTC,
#elif defined(BAD_intc_noset)
    .flags = VDEV_F_INTC,
    .intc = &bad_intc,
#endif
#if defined(BAD_sizes_empty)
    .access_sizes = 0,
#elif defined(BAD_sizes_bad)
    .access_sizes = VDEV_ACCESS_SIZE(4) | VDEV_ACCESS_SIZE(3),
#else
    .access_sizes = VDEV_ACCESS_SIZE(4),
#endif
    .options = bad_options,
    .option_count = 2,
#ifndef BAD_noops
    .ops = &bad_ops,
#endif
};

VDEV_PLUGIN_ENTRY(bad_desc)
