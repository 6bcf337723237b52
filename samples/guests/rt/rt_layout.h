/* samples/guests/rt/rt_layout.h: constants shared by the runtime's C and assembly. */
#ifndef RT_LAYOUT_H
#define RT_LAYOUT_H

#define RT_CODE_SELECTOR 0x08
#define RT_DATA_SELECTOR 0x10
#define RT_STACK_SIZE	 16384

#endif /* RT_LAYOUT_H */
